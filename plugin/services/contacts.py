"""Applying a contact source to the database: contacts upserted, static segments and memberships replaced."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from adapters.base import Contact as SourceContact
from adapters.base import Segment as SourceSegment
from plugin.db import DbSession
from plugin.errors import InvalidInput, Refused
from plugin.models import Contact, Link, Segment, SegmentMember
from plugin.services.links import audit
from plugin.services.text import UnstorableText, check_tree, problem

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import changed."""

    added: int
    changed: int
    unchanged: int
    removed: int
    segments: int


LIMITS = {"host_id": 255, "custom_id": 255, "email": 320, "first_name": 255, "last_name": 255}


def _check(contact: SourceContact) -> None:
    """Refuse what the columns cannot hold, naming the contact and the field (not a database error later)."""
    for field, limit in LIMITS.items():
        value = getattr(contact, field)
        if value is not None and len(value) > limit:
            raise InvalidInput(field, f"contact {contact.host_id[:60]!r}: longer than {limit} characters")
        if value is not None and (issue := problem(value)) is not None:
            raise UnstorableText(field, f"contact {contact.host_id[:60]!r}: {issue}")
    try:
        check_tree(dict(contact.attributes), "attributes")
    except UnstorableText as exc:
        field, issue = exc.details[0]["field"], exc.details[0]["issue"]
        raise UnstorableText(field, f"contact {contact.host_id[:60]!r}: {issue}") from None


def _check_segment(segment: SourceSegment) -> None:
    """A segment's text, as a contact's (the same data on both databases)."""
    for field, value in (("segment.id", segment.id), ("segment.title", segment.title),
                         ("segment.description", segment.description or "")):
        if (issue := problem(value)) is not None:
            raise UnstorableText(field, f"segment {segment.id[:60]!r}: {issue}")
    check_tree(segment.filters, "segment.filters")


def _fields(contact: SourceContact) -> dict[str, Any]:
    return {"custom_id": contact.custom_id, "email": contact.email, "first_name": contact.first_name,
            "last_name": contact.last_name, "attributes": dict(contact.attributes)}


def import_contacts(session: DbSession, contacts: Iterable[SourceContact], segments: Sequence[SourceSegment],
                    now: datetime, actor: str, *, source: str = "csv", replace: bool = False,
                    kind: str = "static") -> ImportResult:
    """Upsert contacts by host id and set the segments' members; with ``replace``, others are deleted.

    Contacts deleted this way lose their live links (revoked, audited). Runs in the caller's transaction:
    an error anywhere leaves everything as it was.
    """
    existing = {row.host_id: row for row in session.execute(
        select(Contact.id, Contact.host_id, Contact.custom_id, Contact.email, Contact.first_name,
               Contact.last_name, Contact.attributes, Contact.deleted_at))}
    new_rows, changed_rows, seen = [], [], set()
    unchanged = 0
    for contact in contacts:
        _check(contact)
        seen.add(contact.host_id)
        fields = _fields(contact)
        old = existing.get(contact.host_id)
        if old is None:
            new_rows.append({"host_id": contact.host_id, "source": source, "created_at": now,
                             "updated_at": now, "deleted_at": None, **fields})
        elif old.deleted_at is not None or any(getattr(old, key) != value for key, value in fields.items()):
            changed_rows.append({"id": old.id, "updated_at": now, "deleted_at": None, **fields})
        else:
            unchanged += 1
    for start in range(0, len(new_rows), CHUNK):
        session.execute(insert(Contact), new_rows[start:start + CHUNK])
    if changed_rows:
        session.execute(update(Contact), changed_rows)  # bulk UPDATE by primary key
    removed = 0
    if replace:
        gone = [row.id for host_id, row in existing.items() if host_id not in seen and row.deleted_at is None]
        removed = len(gone)
        for start in range(0, len(gone), CHUNK):
            _delete_contacts(session, gone[start:start + CHUNK], now, actor)
    ids = {host_id: id_ for host_id, id_ in session.execute(select(Contact.host_id, Contact.id))}
    _apply_segments(session, segments, ids, now, kind)
    return ImportResult(len(new_rows), len(changed_rows), unchanged, removed, len(segments))


def _delete_contacts(session: DbSession, ids: list[int], now: datetime, actor: str) -> None:
    session.execute(update(Contact).where(Contact.id.in_(ids)).values(deleted_at=now, updated_at=now))
    live = session.execute(select(Link.id, Link.survey_id, Link.contact_id).where(
        Link.contact_id.in_(ids), Link.revoked_at.is_(None), Link.is_current.is_(True))).all()
    if live:
        session.execute(update(Link).where(Link.id.in_([row.id for row in live]))
                        .values(revoked_at=now, is_current=False))
        for row in live:
            audit(session, "revoked", actor, now, link_id=row.id, survey_id=row.survey_id,
                  contact_id=row.contact_id, detail={"reason": "contact deleted"})


def _apply_segments(session: DbSession, segments: Sequence[SourceSegment], ids: dict[str, int], now: datetime,
                    kind: str) -> None:
    for segment in segments:
        _check_segment(segment)
        row = session.get(Segment, segment.id)
        if row is None:
            session.add(Segment(id=segment.id, title=segment.title, description=segment.description,
                                is_private=segment.is_private, kind=kind, filters=segment.filters,
                                created_at=now, updated_at=now))
            session.flush()
        else:
            if row.kind == "local" and kind != "local":
                raise Refused("segment", f"segment id {segment.id!r} is taken by a local segment",
                              f"segment {segment.title!r} has the id {segment.id!r} of a local segment: "
                              "remove or rename the local segment first")
            fields = (segment.title, segment.description, segment.is_private, segment.filters)
            if (row.title, row.description, row.is_private, row.filters) != fields:
                row.title, row.description, row.is_private, row.filters = fields
                row.updated_at = now
        set_members(session, segment.id, {ids[host_id] for host_id in segment.member_ids if host_id in ids})


def set_members(session: DbSession, segment_id: str, wanted: set[int]) -> bool:
    """Make the segment's members exactly ``wanted`` (contact row ids), touching only the difference.

    Returns whether anything changed, so that a sync that finds nothing new writes nothing.
    """
    have = set(session.scalars(select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment_id)))
    gone, new = sorted(have - wanted), sorted(wanted - have)
    for start in range(0, len(gone), CHUNK):
        session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id,
                                                    SegmentMember.contact_id.in_(gone[start:start + CHUNK])))
    rows = [{"segment_id": segment_id, "contact_id": contact_id} for contact_id in new]
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(SegmentMember), rows[start:start + CHUNK])
    return bool(gone or new)
