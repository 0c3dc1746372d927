"""Applying a contact source to the database: contacts upserted, static segments and memberships replaced."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from adapters.base import Contact as SourceContact
from adapters.base import Segment as SourceSegment
from plugin.db import DbSession
from plugin.errors import InvalidInput, Refused
from plugin.models import Contact, Link, Segment, SegmentMember
from plugin.services.contacts.contact_batches import (
    BATCH,
    Tally,
    apply_batch,
    close_scratch,
    contact_ids,
    open_scratch,
    prune_members,
    unclaimed_page,
)
from plugin.services.contacts.import_turns import CALLERS_TRANSACTION, Writes
from plugin.services.events import events
from plugin.services.links.links import audit
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


def _fast_check(contact: SourceContact) -> bool:
    """Whether the contact is plainly storable (the common case, checked in one pass over its text)."""
    values = [contact.host_id, contact.custom_id or "", contact.email or "", contact.first_name or "",
              contact.last_name or ""]
    for key, value in contact.attributes.items():
        if not isinstance(value, str):
            return False
        values += (key, value)
    text = "".join(values)
    if "\x00" in text or not (text.isascii() or problem(text) is None):
        return False
    return _lengths_fit(contact)


def _lengths_fit(contact: SourceContact) -> bool:
    """Whether the named fields fit their columns (``LIMITS``, spelled out: this runs once per contact)."""
    return len(contact.host_id) <= 255 and len(contact.custom_id or "") <= 255 and len(contact.email or "") <= 320 \
        and len(contact.first_name or "") <= 255 and len(contact.last_name or "") <= 255


def quick_check(text_checked: bool) -> Callable[[SourceContact], bool]:
    """Whether a contact is plainly storable, found the quick way; when it says no, ``check_contact`` says why.
    ``text_checked``: the source's text, attributes included, is known to be storable strings
    (``CsvContactSource.text_checked``); only the lengths are checked then."""
    return _lengths_fit if text_checked else _fast_check


def check_contact(contact: SourceContact) -> None:
    """Refuse a contact a column cannot hold, naming it and the field."""
    _check(contact)


def checked_contacts(contacts: Iterable[SourceContact], text_checked: bool) -> Iterator[SourceContact]:
    """The contacts, each refused (naming it and the field) when a column cannot hold what it gives."""
    quick = quick_check(text_checked)
    for contact in contacts:
        if not quick(contact):
            _check(contact)
        yield contact


def check_segments(session: DbSession, segments: Iterable[SourceSegment], kind: str) -> None:
    """Refuse what ``_ensure_segment`` would refuse, writing nothing: unstorable text, a local segment's id."""
    for segment in segments:
        _check_segment(segment)
        _not_local(session.get(Segment, segment.id), segment, kind)


def import_contacts(session: DbSession, contacts: Iterable[SourceContact], segments: Iterable[SourceSegment],
                    now: datetime, actor: str, *, source: str = "csv", replace: bool = False,
                    kind: str = "static", text_checked: bool = False, checked: bool = False,
                    writes: Writes = CALLERS_TRANSACTION) -> ImportResult:
    """Upsert contacts by host id and set the segments' members; with ``replace``, others are deleted.

    Contacts are read once, in batches (flat memory whatever their number). A segment gets exactly the
    members the source gives: those of the contacts that name it, or else its ``member_ids``. ``segments``
    is read after the contacts. Contacts deleted this way lose their live links (revoked, audited). By default
    it runs in the caller's transaction: an error anywhere (a duplicate id far down a file too) leaves everything
    as it was. ``writes`` may commit each batch instead (``import_turns``: the source is checked whole first,
    ``contact_file``); the import is an upsert, so running it again completes one that stopped half-way.
    ``text_checked``: see ``checked_contacts``; ``checked``: every contact was checked already.
    """
    with writes.batch():
        cache_size = open_scratch(session)
    tally = Tally()
    rows_name_segments = kind == "static"  # a file names each contact's segments on its row

    def ensure(segment: SourceSegment) -> None:
        _ensure_segment(session, segment, now, kind)

    batch: list[SourceContact] = []
    for contact in contacts if checked else checked_contacts(contacts, text_checked):
        batch.append(contact)
        if len(batch) >= BATCH:
            with writes.batch(len(batch)):
                apply_batch(session, batch, tally, now, source, ensure, rows_name_segments)
            batch = []
    if batch:
        with writes.batch(len(batch)):
            apply_batch(session, batch, tally, now, source, ensure, rows_name_segments)
    for segment_id in tally.named:
        prune_members(session, segment_id, tally, writes)
    given = [segment for segment in segments if segment.id not in tally.named]
    for segment in given:
        with writes.batch():
            ensure(segment)
            set_members(session, segment.id, contact_ids(session, list(segment.member_ids)))
    removed = _delete_unclaimed(session, tally, now, actor, writes) if replace else 0
    with writes.batch():
        close_scratch(session, cache_size)
    return ImportResult(tally.added, tally.changed, tally.unchanged, removed, len(tally.named) + len(given))


def _delete_unclaimed(session: DbSession, tally: Tally, now: datetime, actor: str, writes: Writes) -> int:
    """Mark deleted, chunk by chunk, every live contact the source did not give; how many."""
    removed = 0
    last: int | None = 0
    while last is not None:  # pages by id: deleting leaves the later ones as they are
        with writes.batch():
            page, last = unclaimed_page(session, tally.claims, last)
        for start in range(0, len(page), CHUNK):
            with writes.batch():
                _delete_contacts(session, page[start:start + CHUNK], now, actor)
        removed += len(page)
    return removed


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
        events.record_links(session, "link.revoked", Link.id.in_([row.id for row in live]), now,
                            {"reason": "contact deleted"})


def _ensure_segment(session: DbSession, segment: SourceSegment, now: datetime, kind: str) -> None:
    """The segment's row as the source describes it (made, or updated where it differs)."""
    _check_segment(segment)
    row = session.get(Segment, segment.id)
    if row is None:
        session.add(Segment(id=segment.id, title=segment.title, description=segment.description,
                            is_private=segment.is_private, kind=kind, filters=segment.filters,
                            created_at=now, updated_at=now))
        session.flush()
        return
    _not_local(row, segment, kind)
    fields = (segment.title, segment.description, segment.is_private, segment.filters)
    if (row.title, row.description, row.is_private, row.filters) != fields:
        row.title, row.description, row.is_private, row.filters = fields
        row.updated_at = now


def _not_local(row: Segment | None, segment: SourceSegment, kind: str) -> None:
    """Refuse to take over a local segment's id with a segment of another kind."""
    if row is not None and row.kind == "local" and kind != "local":
        raise Refused("segment", f"segment id {segment.id!r} is taken by a local segment",
                      f"segment {segment.title!r} has the id {segment.id!r} of a local segment: "
                      "remove or rename the local segment first")


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
