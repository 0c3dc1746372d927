"""Importing contacts: upsert by host id, segment members replaced, replace mode deletes and revokes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from adapters.base import SourceFormatError
from adapters.csv_file import CsvContactSource
from plugin.db import db
from plugin.models import AuditEvent, Contact, Link, SegmentMember
from plugin.services.contacts import contacts as contacts_service
from plugin.services.contacts.contacts import import_contacts
from tests.helpers import NOW


def load(text: str, **kw):
    source = CsvContactSource(text=text)
    result = import_contacts(db.session, source.contacts(), source.segments(), NOW, "test", **kw)
    db.session.commit()
    return result


def test_second_import_changes_nothing_then_updates(app) -> None:
    text = "id,email,segments\na,a@x.org,S\nb,b@x.org,S\n"
    first = load(text)
    assert (first.added, first.changed, first.unchanged) == (2, 0, 0)
    second = load(text)
    assert (second.added, second.changed, second.unchanged) == (0, 0, 2)
    third = load("id,email,segments\na,new@x.org,S\n")
    assert (third.added, third.changed, third.unchanged, third.removed) == (0, 1, 0, 0)
    assert db.session.scalar(select(Contact.email).where(Contact.host_id == "a")) == "new@x.org"
    members = db.session.scalars(select(SegmentMember.contact_id).where(SegmentMember.segment_id == "s")).all()
    assert len(members) == 1  # the file says who is in the segments it names


def test_replace_deletes_missing_contacts_and_revokes_their_links(client, seeded, api_headers) -> None:
    link_id = client.get("/api/v2/management/surveys/survey-1/contact-links/contacts/c2",
                         headers=api_headers).get_json()["data"]["linkId"]
    result = load("id,segments\nc1,Alpha\nc3,Alpha\nc4,Beta\n", replace=True)
    assert result.removed == 1
    assert db.session.scalar(select(Contact.deleted_at).where(Contact.host_id == "c2")) == NOW
    assert db.session.get(Link, link_id).revoked_at == NOW
    reason = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "revoked"))
    assert reason == {"reason": "contact deleted"}
    lookup = client.get("/api/v2/management/surveys/survey-1/contact-links/contacts/c2", headers=api_headers)
    assert lookup.status_code == 404


def test_a_malformed_file_changes_nothing(client, seeded) -> None:
    before = db.session.execute(select(Contact.host_id, Contact.email).order_by(Contact.id)).all()
    with pytest.raises(SourceFormatError, match="already on line 2"):
        load("id,email\nc1,changed@x.org\nc1,twice@x.org\n")
    db.session.rollback()
    assert db.session.execute(select(Contact.host_id, Contact.email).order_by(Contact.id)).all() == before


def _file(tmp_path, rows: list[str], header: str = "id,email,segments"):
    path = tmp_path / "contacts.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_duplicate_far_down_a_streamed_file_names_both_lines_and_stores_nothing(client, seeded, tmp_path) -> None:
    before = db.session.execute(select(Contact.host_id, Contact.email).order_by(Contact.id)).all()
    rows = [f"n{i},n{i}@x.org,Big" for i in range(12_000)]  # more than two batches apart
    rows[11_000] = "n1,again@x.org,Big"
    source = CsvContactSource(_file(tmp_path, rows))
    with pytest.raises(SourceFormatError) as caught:
        import_contacts(db.session, source.contacts(), source.segments(), NOW, "test")
    assert str(caught.value) == "line 11002: id 'n1' already on line 3"
    db.session.rollback()
    assert db.session.execute(select(Contact.host_id, Contact.email).order_by(Contact.id)).all() == before
    assert db.session.scalar(select(func.count()).select_from(SegmentMember).where(
        SegmentMember.segment_id == "big")) == 0


def test_a_duplicate_of_a_stored_contact_in_a_later_batch_is_refused(app, monkeypatch) -> None:
    load("id\nk1\n")
    monkeypatch.setattr(contacts_service, "BATCH", 2)
    with pytest.raises(SourceFormatError, match="line 5: id 'k1' already on line 2"):
        load("id\nk1\nk2\nk3\nk1\n")
    db.session.rollback()
    assert db.session.scalars(select(Contact.host_id)).all() == ["k1"]


def test_a_segment_named_late_loses_the_members_the_file_dropped(app, monkeypatch) -> None:
    load("id,segments\na,S\nb,S\nc,T\n")
    monkeypatch.setattr(contacts_service, "BATCH", 2)  # a and b are written before S is named again
    result = load("id,segments\na,\nb,T\nc,T\nd,S\n")
    members = {segment: set(db.session.scalars(select(Contact.host_id).join(
        SegmentMember, SegmentMember.contact_id == Contact.id).where(SegmentMember.segment_id == segment)))
        for segment in ("s", "t")}
    assert members == {"s": {"d"}, "t": {"b", "c"}}
    assert (result.added, result.changed, result.unchanged, result.segments) == (1, 0, 3, 2)


def test_replace_over_several_batches_deletes_exactly_the_missing(app, monkeypatch) -> None:
    load("id\n" + "".join(f"k{i}\n" for i in range(9)))
    monkeypatch.setattr(contacts_service, "BATCH", 2)
    result = load("id\nk0\nk2\nk4\nk6\nk8\nk9\n", replace=True)
    live = db.session.scalars(select(Contact.host_id).where(Contact.deleted_at.is_(None)).order_by(Contact.id))
    assert (result.added, result.removed) == (1, 4) and live.all() == ["k0", "k2", "k4", "k6", "k8", "k9"]
