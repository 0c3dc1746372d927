"""The bulk CSVs (a segment's links, the non-respondents) byte for byte as a row-by-row writer makes them, on
hostile cells; and the non-respondents' pages read in an index's order (no sort of every link first)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.clock import iso
from plugin.db import db
from plugin.models import Contact, Link, Segment, SegmentMember, Survey
from plugin.services.followup import followup
from plugin.services.links import links
from plugin.services.links.export import csv_lines
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from plugin.state import state
from tests.helpers import NOW

API = "/api/personal-links/v1"
HOSTILE = ["=1+1", "+49 30 1234", "-2", "@SUM(A1)", "\tTab", "\rCR", "plain, with comma", 'say "hi"',
           "line\r\nbreak", "Zoë", "'already quoted", "", None]


@pytest.fixture
def hostile(app: Flask) -> list[int]:
    """Contacts whose every cell starts with a formula character (or is empty, None, quoted, multi-line), all in
    segment ``all``, and the link survey ``s``; their ids."""
    db.session.add(Segment(id="all", title="All", kind="static", created_at=NOW, updated_at=NOW))
    db.session.add(Survey(id="s", name="S", public_url="https://f.example/s/s", hidden_field_ids=["plink"],
                          created_at=NOW, updated_at=NOW))
    for number, cell in enumerate(HOSTILE):
        db.session.add(Contact(host_id=f"{cell}#{number}", custom_id=cell, first_name=cell, last_name=cell,
                               email=cell, attributes={"plan": "pro"}, created_at=NOW, updated_at=NOW))
    db.session.flush()
    ids = list(db.session.scalars(select(Contact.id).order_by(Contact.id)))
    db.session.add_all(SegmentMember(segment_id="all", contact_id=contact_id) for contact_id in ids)
    db.session.commit()
    return ids


def reference(header: list[str], rows: list[list[Any]]) -> bytes:
    """The CSV as it was written before the fast path: one ``writerow`` per row, each text cell quoted when it
    starts with = + - @ tab or CR, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode()


def quoted(cell: str | None) -> str:
    if cell is None or cell == "":
        return ""
    return "'" + cell if cell[0] in "=+-@\t\r" else cell


def test_segment_csv_is_byte_for_byte_the_row_by_row_csv(client: FlaskClient, api_headers: dict[str, str],
                                                          hostile: list[int]) -> None:
    answer = client.get(f"{API}/surveys/s/segments/all/links.csv", headers=api_headers)
    assert answer.status_code == 200
    held = db.session.execute(select(Link.id, Contact).join(Contact, Contact.id == Link.contact_id)
                              .order_by(Contact.id.desc())).all()
    assert len(held) == len(HOSTILE)
    expected = reference(
        ["Formbricks Contact ID", "Custom ID", "First Name", "Last Name", "Email", "Personal Link"],
        [[quoted(c.host_id), quoted(c.custom_id), quoted(c.first_name), quoted(c.last_name), quoted(c.email),
          state().link_url(link_id, "s")] for link_id, c in held])
    assert answer.get_data() == expected
    assert b"'=1+1#0,'=1+1,'=1+1" in expected and b'"\'\rCR#5"' in expected  # what the reference makes


def test_cli_file_is_the_same_bytes_as_the_download(run, client: FlaskClient, api_headers: dict[str, str],
                                                   hostile: list[int], tmp_path) -> None:
    downloaded = client.get(f"{API}/surveys/s/segments/all/links.csv", headers=api_headers).get_data()
    out = tmp_path / "links.csv"
    result = run("links", "issue", "--survey", "s", "--segment", "all", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == downloaded and downloaded.count(b"\r\n") > len(HOSTILE)


@pytest.mark.parametrize("batch", [1, 2, 5000])
def test_batch_size_does_not_change_the_bytes(app: Flask, hostile: list[int], batch: int) -> None:
    survey = db.session.get(Survey, "s")
    issue_links(db.session, survey, links.segment_contacts("all"), IssueOptions(), NOW, "t")
    db.session.commit()
    query = links.export_links("s", links.in_segment("all", Link.contact_id))
    one_by_one = "".join(csv_lines(links.iter_batches(db.session, query, 1), state().link_urls("s")))
    chunks = list(csv_lines(links.iter_batches(db.session, query, batch), state().link_urls("s")))
    assert "".join(chunks) == one_by_one
    assert len(chunks) == -(-len(HOSTILE) // batch)  # one chunk per batch; the header rides with the first
    assert one_by_one.count("https://links.example.com/c/") == len(HOSTILE)


def test_non_respondents_csv_is_byte_for_byte_the_row_by_row_csv(client: FlaskClient, api_headers: dict[str, str],
                                                                  hostile: list[int]) -> None:
    survey = db.session.get(Survey, "s")
    issue_links(db.session, survey, links.segment_contacts("all"), IssueOptions(), NOW, "t")
    db.session.commit()
    answer = client.get(f"{API}/surveys/s/non-respondents.csv", headers=api_headers)
    assert answer.status_code == 200
    held = db.session.execute(select(Link, Contact).join(Contact, Contact.id == Link.contact_id)
                              .order_by(Contact.id)).all()
    expected = reference(list(followup.CSV_HEADER), [
        [quoted(c.host_id), quoted(c.custom_id), quoted(c.first_name), quoted(c.last_name), quoted(c.email),
         state().link_url(link.id, "s"), "live", iso(link.last_opened_at) or "", iso(link.started_at) or "",
         iso(link.expires_at) or "", "0", ""] for link, c in held])
    assert answer.get_data() == expected


def test_an_empty_export_is_the_header_alone(app: Flask, hostile: list[int]) -> None:
    query = links.export_links("s", links.in_segment("all", Link.contact_id))  # nothing issued yet
    assert list(csv_lines(links.iter_batches(db.session, query), state().link_urls("s"))) == [
        "Formbricks Contact ID,Custom ID,First Name,Last Name,Email,Personal Link\r\n"]


def plan(statement: Any) -> str:
    """The database's plan of a statement, as one text."""
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
    rows = db.session.connection().exec_driver_sql(prefix + sql).all()
    return "\n".join(" ".join(str(part) for part in row) for row in rows)


@pytest.mark.parametrize("segment_id", [None, "all"])
def test_a_non_respondents_page_reads_links_in_contact_order(app: Flask, hostile: list[int],
                                                             segment_id: str | None) -> None:
    """No sort of every matching link before the first row, no list of every segment member: the first page of
    a million costs what a page of ten does."""
    query = followup.non_respondents("s", NOW, segment_id=segment_id).limit(51)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("SET LOCAL enable_seqscan = off"))  # ten rows: make it plan as for a million
        text = plan(query)
        assert "Sort" not in text and "links" in text
        return
    text = plan(query)
    assert "SEARCH links USING INDEX" in text
    assert "TEMP B-TREE" not in text and "LIST SUBQUERY" not in text


def test_the_stopped_filter_reads_the_started_links_index(app: Flask, hostile: list[int]) -> None:
    """Those who started and stopped: only links someone started are read (migration 0010)."""
    query = followup.non_respondents("s", NOW, stopped_only=True).limit(51)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("SET LOCAL enable_seqscan = off"))
    text = plan(query)
    assert "ix_links_started" in text and "TEMP B-TREE" not in text and "Sort" not in text
