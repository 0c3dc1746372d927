"""One contact import, batch by batch: what the source gave so far, and each batch's writes.

A source is read once, in batches of ``BATCH`` contacts, inside the caller's transaction. What must be known
about the whole source lives in compact form: a bit per contact row the source gave, with the line it came
from (duplicates, far apart too, and ``--replace``), and a temporary table of memberships the source dropped,
so a file of a million rows runs in a few megabytes.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, select, update
from sqlalchemy.schema import CreateTable

from adapters.base import Contact as SourceContact
from adapters.base import Segment as SourceSegment
from adapters.base import SourceFormatError
from plugin.db import DbSession
from plugin.db.driver_sql import bind_value, first_column, insert_keyed, insert_many, select_in
from plugin.models import Contact, SegmentMember
from plugin.services.contacts.import_turns import Writes

BATCH = 5000
PAGE = 20_000  # rows read at a time when looking for what the source did not give
SQLITE_CACHE_KIB = 32 * 1024  # SQLite's page cache during an import (its indexes are written in random order)

_scratch = MetaData()
STALE = Table("import_stale_members", _scratch, Column("segment_id", String(255), primary_key=True),
              Column("contact_id", Integer, primary_key=True), prefixes=["TEMPORARY"])
CONTACT_COLUMNS = ("host_id", "custom_id", "email", "first_name", "last_name", "attributes", "source", "created_at",
                   "updated_at")


def _json(value: Any) -> Any:
    """A JSON column's value as read by the driver: SQLite gives the text, psycopg the parsed value."""
    return json.loads(value) if isinstance(value, str) else value


def open_scratch(session: DbSession) -> int | None:
    """An empty scratch table for this import (kept per connection: SQLite creates it outside the transaction).

    On SQLite the page cache grows to ``SQLITE_CACHE_KIB`` for the import (its indexes are written in
    random order); returns the size before, for ``close_scratch``."""
    session.execute(CreateTable(STALE, if_not_exists=True))
    session.execute(delete(STALE))
    if session.get_bind().dialect.name != "sqlite":
        return None
    before = session.connection().exec_driver_sql("PRAGMA cache_size").scalar()
    session.connection().exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    return int(before) if before is not None else None


def close_scratch(session: DbSession, cache_size: int | None) -> None:
    """Empty the scratch table again, so it holds nothing between imports; SQLite's cache as it was."""
    session.execute(delete(STALE))
    if cache_size is not None:
        session.connection().exec_driver_sql(f"PRAGMA cache_size={int(cache_size)}")


class Claims:
    """The contact rows this import has given, a bit per row id, and the line each came from (0: none)."""

    def __init__(self) -> None:
        self._bits = bytearray()
        self._lines = array("I")

    def add_all(self, contact_ids: Sequence[int], lines: Sequence[int | None]) -> None:
        """Record that the source gave these rows (each on its line)."""
        top = max(contact_ids, default=-1)
        if top >= len(self._lines):
            more = max(top + 1, 2 * len(self._lines)) - len(self._lines)
            self._lines.frombytes(bytes(4 * more))
            self._bits.extend(bytes(len(self._lines) // 8 + 1 - len(self._bits)))
        bits, numbers = self._bits, self._lines
        for contact_id, line in zip(contact_ids, lines, strict=True):
            bits[contact_id >> 3] |= 1 << (contact_id & 7)
            numbers[contact_id] = line or 0

    def __contains__(self, contact_id: int) -> bool:
        return contact_id < len(self._lines) and bool(self._bits[contact_id >> 3] & (1 << (contact_id & 7)))

    def line(self, contact_id: int) -> int | None:
        """The line the row came from, when the source has lines."""
        return self._lines[contact_id] or None


@dataclass
class Tally:
    """What the batches changed so far, and the segments the contacts named (id -> segment)."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    named: dict[str, SourceSegment] = field(default_factory=dict)
    given: Counter[str] = field(default_factory=Counter)  # memberships given, by segment id
    claims: Claims = field(default_factory=Claims)


def duplicate(contact: SourceContact, first: int | None) -> SourceFormatError:
    """The error for a contact whose id an earlier one had (``first``: its line, when the source has lines)."""
    if first is None or contact.line is None:
        return SourceFormatError(f"id {contact.host_id!r} given twice by the contact source", line=contact.line)
    return SourceFormatError(f"id {contact.host_id!r} already on line {first}", line=contact.line)


def _batch_lines(batch: Sequence[SourceContact], keys: Sequence[str]) -> None:
    """A duplicate inside the batch is an error naming both lines."""
    if len(set(keys)) == len(keys):
        return
    lines: dict[str, int | None] = {}
    for contact in batch:
        if contact.host_id in lines:
            raise duplicate(contact, lines[contact.host_id])
        lines[contact.host_id] = contact.line


class _JsonCache:
    """Attributes as the driver takes them, each distinct set serialised once (most contacts share a few)."""

    def __init__(self, process: Any) -> None:
        self._process = process or (lambda value: value)
        self._done: dict[tuple[tuple[str, Any], ...], Any] = {}

    def __call__(self, attributes: Mapping[str, Any]) -> Any:
        try:
            key = tuple(attributes.items())
            return self._done[key]
        except KeyError:
            if len(self._done) > 10_000:
                self._done.clear()
            value = self._done[key] = self._process(attributes)
            return value
        except TypeError:  # a value that is not hashable
            return self._process(attributes)


class _Stored(NamedTuple):
    """A contact's row as stored, to compare with what the source gives."""

    id: int
    host_id: str
    custom_id: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    attributes: Any
    deleted_at: Any  # only whether it is set matters here


def _fields(contact: SourceContact) -> dict[str, Any]:
    return {"custom_id": contact.custom_id, "email": contact.email, "first_name": contact.first_name,
            "last_name": contact.last_name, "attributes": dict(contact.attributes)}


def _same(old: _Stored, contact: SourceContact) -> bool:
    """Whether the stored row is live and holds what the source gives."""
    return old.deleted_at is None and (old.custom_id, old.email, old.first_name, old.last_name, old.attributes) == (
        contact.custom_id, contact.email, contact.first_name, contact.last_name, dict(contact.attributes))


def apply_batch(session: DbSession, batch: Sequence[SourceContact], tally: Tally, now: datetime, source: str,
                ensure_segment: Any, rows_name_segments: bool) -> None:
    """Upsert one batch by host id; with ``rows_name_segments``, the contacts' segments get them as members
    (``ensure_segment`` makes each segment's row the first time a contact names it)."""
    keys = [contact.host_id for contact in batch]
    _batch_lines(batch, keys)
    existing = {row[1]: _Stored(row[0], row[1], row[2], row[3], row[4], row[5], _json(row[6]), row[7])
                for row in select_in(session, "SELECT id, host_id, custom_id, email, first_name, last_name,"
                                              " attributes, deleted_at FROM contacts WHERE host_id IN ({keys})", keys)}
    new_rows: list[tuple[Any, ...]] = []
    changed_rows = []
    table: Table = Contact.__table__  # type: ignore[assignment]
    stamp = bind_value(session, table.c.created_at, now)
    as_json = _JsonCache(table.c.attributes.type.dialect_impl(session.get_bind().dialect).bind_processor(
        session.get_bind().dialect))
    claims = tally.claims
    for contact in batch:
        old = existing.get(contact.host_id) if existing else None
        if old is None:
            new_rows.append((contact.host_id, contact.custom_id, contact.email, contact.first_name,
                             contact.last_name, as_json(contact.attributes), source, stamp, stamp))
            continue
        if old.id in claims:
            raise duplicate(contact, claims.line(old.id))
        if _same(old, contact):
            tally.unchanged += 1
        else:
            changed_rows.append({"id": old.id, "updated_at": now, "deleted_at": None, **_fields(contact)})
    inserted = insert_keyed(session, table.name, CONTACT_COLUMNS, new_rows)
    if changed_rows:
        session.execute(update(Contact), changed_rows)  # bulk UPDATE by primary key
    tally.added += len(new_rows)
    tally.changed += len(changed_rows)
    ids = {host_id: row.id for host_id, row in existing.items()}
    ids.update(inserted)
    claims.add_all([ids[key] for key in keys], [contact.line for contact in batch])
    if rows_name_segments:
        _members(session, batch, [row.id for row in existing.values()], ids, tally, ensure_segment)


def _members(session: DbSession, batch: Sequence[SourceContact], existing: list[int], ids: dict[str, int],
             tally: Tally, ensure_segment: Any) -> None:
    """The batch's memberships into segment_members; those of its stored contacts that the source dropped
    into the scratch table (a segment named further down the file loses them at the end)."""
    wanted: set[tuple[str, int]] = set()
    for contact in batch:
        if contact.segments:
            contact_id = ids[contact.host_id]
            for segment in contact.segments:
                if segment.id not in tally.named:
                    ensure_segment(segment)
                    tally.named[segment.id] = segment
                wanted.add((segment.id, contact_id))
    tally.given.update(map(itemgetter(0), wanted))
    have: set[tuple[str, int]] = set()
    if existing:
        have = set(select_in(session, "SELECT segment_id, contact_id FROM segment_members WHERE contact_id IN"
                                      " ({keys})", existing))
    # in key order: B-tree pages filled one after another, not a page per row (twice as fast on SQLite)
    insert_many(session, STALE.name, ("segment_id", "contact_id"), sorted(have - wanted))
    insert_many(session, SegmentMember.__tablename__, ("segment_id", "contact_id"), sorted(wanted - have))


def prune_members(session: DbSession, segment_id: str, tally: Tally, writes: Writes) -> None:
    """Remove the segment's members the source did not give (it gave all of them, row by row); a page a batch."""
    with writes.batch():
        session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id,
                                                    SegmentMember.contact_id.in_(select(STALE.c.contact_id).where(
                                                        STALE.c.segment_id == segment_id))))
        held = first_column(session, "SELECT count(*) FROM segment_members WHERE segment_id = {mark}", (segment_id,))
    if held[0] == tally.given[segment_id]:  # the members given are all there: none is left to remove
        return
    last: int | None = 0
    while last is not None:
        with writes.batch():
            page = first_column(session, "SELECT contact_id FROM segment_members WHERE segment_id = {mark} AND"
                                " contact_id > {mark} ORDER BY contact_id LIMIT {mark}", (segment_id, last, PAGE))
            last = page[-1] if page else None
            gone = [contact_id for contact_id in page if contact_id not in tally.claims]
            for start in range(0, len(gone), BATCH):
                session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id,
                                                            SegmentMember.contact_id.in_(gone[start:start + BATCH])))


def unclaimed_page(session: DbSession, claims: Claims, after: int) -> tuple[list[int], int | None]:
    """Ids of live contacts the source did not give in the next page of ids after ``after``, in order (to delete
    them in chunks), and where the page after it starts (None: this was the last)."""
    page = first_column(session, "SELECT id FROM contacts WHERE id > {mark} AND deleted_at IS NULL ORDER BY id"
                        " LIMIT {mark}", (after, PAGE))
    return [contact_id for contact_id in page if contact_id not in claims], page[-1] if page else None


def contact_ids(session: DbSession, host_ids: Sequence[str]) -> set[int]:
    """Row ids of the contacts with these host ids (in chunks of ``BATCH``)."""
    found: set[int] = set()
    for start in range(0, len(host_ids), BATCH):
        found.update(session.scalars(select(Contact.id).where(Contact.host_id.in_(host_ids[start:start + BATCH]))))
    return found
