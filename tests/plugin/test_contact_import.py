"""Importing contacts: upsert by host id, segment members replaced, replace mode deletes and revokes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from adapters.base import SourceFormatError
from adapters.csv_file import CsvContactSource
from plugin.db import db
from plugin.models import AuditEvent, Contact, Link, SegmentMember
from plugin.services.contacts import import_contacts
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
