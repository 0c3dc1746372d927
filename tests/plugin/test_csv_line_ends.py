"""One CSV reader for every file and body: LF, CRLF and CR alone (old Mac "CSV" exports) all end a line, a line
break inside a quoted cell is kept as it was written, and a bad file is refused in our words with its line."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask.testing import FlaskClient
from sqlalchemy import func, select

from adapters.base import SourceFormatError
from adapters.csv_text import text_lines
from plugin.db import db
from plugin.models import Contact, ContactMade, Suppression
from tests.plugin.test_contacts_made import issued  # noqa: F401  (the fixture: links to survey-1 for c1..c4)

API = "/api/personal-links/v1"
ENDS = {"LF": "\n", "CRLF": "\r\n", "CR": "\r"}


def _lines(data: bytes, chunk: int = 3, limit: int = 1 << 20) -> list[str]:
    return list(text_lines(io.BytesIO(data), limit, chunk_size=chunk))


def test_every_line_end_ends_a_line_even_across_reads() -> None:
    """Read three bytes at a time, a CRLF is split between two reads and still one line end."""
    assert _lines(b"a,b\r\nc\rd\n\r\ne") == ["a,b\r\n", "c\r", "d\n", "\r\n", "e"]
    assert _lines("\ufeffid\r\xe9t\xe9\r".encode()) == ["id\r", "\xe9t\xe9\r"]  # the byte-order mark dropped


@pytest.mark.parametrize("data, message", [
    (b"id\r\xff\xfe\r", "line 2: not UTF-8 text (save it as CSV UTF-8)"),
    (b"id\rk\x00\r", "line 2: holds a NUL byte: not a CSV text file"),
    (b"id\r" + b"x" * 40, "larger than 0 MiB"),
])
def test_a_bad_file_is_named_by_its_line(data: bytes, message: str) -> None:
    with pytest.raises(SourceFormatError, match=re.escape(message)):
        _lines(data, limit=20)


def test_contacts_import_takes_cr_only_line_ends(run: Callable[..., Result], tmp_path: Path) -> None:
    contacts = tmp_path / "mac.csv"
    contacts.write_bytes(b'id,firstName,note\rk1,Ann,"two\r\nlines"\rk2,Bo,x\r')
    result = run("contacts", "import", str(contacts))
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    stored = {row.host_id: row for row in db.session.scalars(select(Contact))}
    assert stored["k1"].attributes == {"note": "two\r\nlines"} and stored["k2"].first_name == "Bo"


@pytest.mark.parametrize("end", ENDS)
def test_suppressions_take_every_line_end(run: Callable[..., Result], client: FlaskClient,
                                          api_headers: dict[str, str], tmp_path: Path, end: str) -> None:
    text = ENDS[end].join(["email,reason", "a@x.org,bounce", "b@x.org,opt-out", ""])
    bounces = tmp_path / "b.csv"
    bounces.write_bytes(text.encode())
    result = run("suppressions", "import", str(bounces))
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    again = client.post(f"{API}/suppressions/import", data=text.replace("a@x", "c@x").encode(),
                        headers={**api_headers, "Content-Type": "text/csv"})
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["data"] == {"added": 1, "already": 1}
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 3


@pytest.mark.parametrize("end", ENDS)
def test_send_logs_take_every_line_end(run: Callable[..., Result], client: FlaskClient,
                                       api_headers: dict[str, str], issued: Any, tmp_path: Path,  # noqa: F811
                                       end: str) -> None:
    text = ENDS[end].join(["contact id,survey,kind,channel", "c1,survey-1,invitation,email", ""])
    log = tmp_path / "log.csv"
    log.write_bytes(text.encode())
    result = run("contacts-made", "import", str(log))
    assert result.exit_code == 0, result.output
    answer = client.post(f"{API}/contacts-made.csv", data=text.replace("c1", "c2").encode(),
                         headers={**api_headers, "Content-Type": "text/csv"})
    assert answer.status_code == 201, answer.get_json()
    assert db.session.scalar(select(func.count()).select_from(ContactMade)) == 2

