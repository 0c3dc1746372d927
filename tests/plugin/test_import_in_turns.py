"""A contacts or suppressions file imported from the command line is checked whole before anything is written, then
written batch by batch (on SQLite each batch is a transaction of its own, ``services.import_turns``): a file refused
on its last line changes nothing, and an import that stops while writing says in its one line how far it got, and
the same import run again completes it (both are upserts)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from plugin.db import db
from plugin.models import AuditEvent, Contact, Link, Segment, SegmentMember, Suppression
from plugin.services.contacts import contact_file
from plugin.services.contacts import contacts as contacts_service
from plugin.services.followup import suppression_import
from plugin.services.followup import suppressions as suppressions_service


def _contacts() -> tuple[list[tuple[Any, ...]], list[tuple[str, str]], list[str]]:
    """Every contact (id, email, first name, live), every membership (segment, contact), every segment."""
    db.session.rollback()
    contacts = db.session.execute(select(Contact.host_id, Contact.email, Contact.first_name,
                                         Contact.deleted_at.is_(None)).order_by(Contact.host_id)).all()
    members = db.session.execute(select(SegmentMember.segment_id, Contact.host_id).join(
        Contact, Contact.id == SegmentMember.contact_id).order_by(SegmentMember.segment_id, Contact.host_id)).all()
    return [tuple(row) for row in contacts], [tuple(row) for row in members], list(
        db.session.scalars(select(Segment.id).order_by(Segment.id)))


def _file(folder: Path, lines: list[str], name: str = "contacts.csv") -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("Error: "), result.output
    return result.output.strip()


# lines 2-13 change c1, keep c3, add n0..n9 in a new segment: four batches of three
CHANGES = ["id,email,firstName,segments", "c1,changed@x.org,Ona,Alpha;Gamma", "c3,three@example.com,Thea,Alpha",
           *[f"n{i},n{i}@x.org,N{i},Gamma" for i in range(10)]]


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contacts_service, "BATCH", 3)
    monkeypatch.setattr(suppression_import, "TURN_ROWS", 3)


@pytest.mark.parametrize(("last", "error"), [
    ("n10,n10@x.org,N10", "Error: line 14: 3 cells where the header has 4"),
    ("c1,again@x.org,Ona,Gamma", "Error: line 14: id 'c1' already on line 2"),
    ("n10,n10@x.org," + "N" * 256 + ",Gamma", "Error: first_name: contact 'n10': longer than 255 characters"),
])
def test_a_contact_file_refused_on_its_last_line_changes_nothing(
        run: Callable[..., Result], seeded: dict[str, Any], small_batches: None, tmp_path: Path, last: str,
        error: str) -> None:
    before = _contacts()
    for replace in ((), ("--replace",)):
        assert _one_line_error(run("contacts", "import", str(_file(tmp_path, [*CHANGES, last])), *replace)) == error
        assert _contacts() == before


def test_ids_that_share_a_hash_are_no_repeat(run: Callable[..., Result], seeded: dict[str, Any], small_batches: None,
                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first reading keeps a hash of each id; ids whose hashes meet are compared as they are."""
    monkeypatch.setattr(contact_file, "hash", lambda text: 7, raising=False)  # every id has the same hash
    result = run("contacts", "import", str(_file(tmp_path, CHANGES)))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("contacts: 10 added, 2 changed, 0 unchanged, 0 removed")
    assert _one_line_error(run("contacts", "import", str(_file(tmp_path, [*CHANGES, "n3,n3@x.org,N3,Gamma"])))) == \
        "Error: line 14: id 'n3' already on line 7"


def _fail_on_call(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, number: int) -> None:
    """``owner.name`` raises a full disk's error on its ``number``-th call (once)."""
    real = getattr(owner, name)
    calls = [0]

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == number:
            raise OperationalError("INSERT", {}, Exception("database or disk is full"))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)


def test_a_contact_import_stopped_while_writing_completes_when_run_again(
        run: Callable[..., Result], seeded: dict[str, Any], small_batches: None, tmp_path: Path,
        database_url: str, monkeypatch: pytest.MonkeyPatch, client: Any, api_headers: dict[str, str]) -> None:
    link = client.get("/api/v2/management/surveys/survey-1/contact-links/contacts/c2", headers=api_headers)
    assert link.status_code == 200
    path = _file(tmp_path, CHANGES)
    with monkeypatch.context() as patch:
        _fail_on_call(patch, contacts_service, "apply_batch", 3)  # two batches of three are written
        stopped = _one_line_error(run("contacts", "import", str(path), "--replace"))
    assert stopped.startswith("Error: database error: database or disk is full")
    written = {contact[0] for contact in _contacts()[0]}
    if database_url.startswith("sqlite"):  # each batch was committed: the line says how far it got
        assert stopped.endswith("; the import stopped after writing 6 of 12 contacts: run the same import again to "
                                "complete it")
        assert written == {"c1", "c2", "c3", "c4", "n0", "n1", "n2", "n3"}
    else:  # one transaction: nothing was written
        assert "stopped after" not in stopped
        assert written == {"c1", "c2", "c3", "c4"}
    again = run("contacts", "import", str(path), "--replace")
    assert again.exit_code == 0, again.output
    contacts, members, segments = _contacts()
    assert [row for row in contacts if row[3]] == [
        ("c1", "changed@x.org", "Ona", True), ("c3", "three@example.com", "Thea", True),
        *[(f"n{i}", f"n{i}@x.org", f"N{i}", True) for i in range(10)]]
    assert {row[0] for row in contacts if not row[3]} == {"c2", "c4"}  # --replace: missing from the file
    assert members == sorted([("alpha", "c1"), ("alpha", "c3"), ("beta", "c1"), ("beta", "c4"), ("gamma", "c1"),
                              *[("gamma", f"n{i}") for i in range(10)]])
    assert segments == ["alpha", "beta", "gamma"]  # beta, which the file does not name, is left as it was
    assert db.session.scalar(select(Link.revoked_at).join(Contact).where(Contact.host_id == "c2")) is not None
    once_more = run("contacts", "import", str(path), "--replace")  # an upsert: nothing left to do
    assert once_more.output.startswith("contacts: 0 added, 0 changed, 12 unchanged, 0 removed")


def test_a_suppressions_import_stopped_while_writing_completes_when_run_again(
        run: Callable[..., Result], seeded: dict[str, Any], small_batches: None, tmp_path: Path,
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path, ["email,reason", *[f"b{i}@x.org,bounce" for i in range(8)], "", "b0@x.org,complaint"],
                 "bounces.csv")  # a blank row, and a repeat: already in force
    with monkeypatch.context() as patch:
        _fail_on_call(patch, suppressions_service, "add", 7)  # two batches of three are written
        stopped = _one_line_error(run("suppressions", "import", str(path)))
    assert stopped.startswith("Error: database error: database or disk is full")
    count = db.session.scalar(select(func.count()).select_from(Suppression))
    if database_url.startswith("sqlite"):
        assert stopped.endswith("; the import stopped after writing 6 of 9 rows: run the same import again to "
                                "complete it")
        assert count == 6
    else:
        assert "stopped after" not in stopped and count == 0
    again = run("suppressions", "import", str(path))
    assert again.exit_code == 0, again.output
    emails = db.session.scalars(select(Suppression.email).order_by(Suppression.id)).all()
    assert sorted(emails) == sorted(f"b{i}@x.org" for i in range(8))
    audited = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "suppressed"))
    assert audited == 8


def test_a_suppressions_file_refused_on_its_last_line_stores_nothing(
        run: Callable[..., Result], seeded: dict[str, Any], small_batches: None, tmp_path: Path) -> None:
    path = _file(tmp_path, ["email,reason", *[f"b{i}@x.org,bounce" for i in range(8)], "nope,bounce"], "bounces.csv")
    result = run("suppressions", "import", str(path))
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == ("Error: file: 1 bad row, nothing stored: line 10: email: "
                                                      "'nope' is not an e-mail address")
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0
