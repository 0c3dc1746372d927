"""One contact import, batch by batch: what the source gave so far, and each batch's writes.

A source is read once, in batches of ``BATCH`` contacts, inside the caller's transaction. What must be known
about the whole source lives in compact form: a bit per contact row the source gave, with the line it came
from (duplicates, far apart too, and ``--replace``), and a temporary table of memberships the source dropped,
so a file of a million rows runs in a few megabytes.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, select, update
from sqlalchemy.schema import CreateTable

from adapters.base import Contact as SourceContact
from adapters.base import Segment as SourceSegment
from adapters.base import SourceFormatError
from plugin.db import DbSession
from plugin.models import Contact, SegmentMember

BATCH = 5000
VALUES_ROWS = 1000  # rows per multi-row INSERT: at most 9,000 parameters, under SQLite's 32,766
PAGE = 20_000  # rows read at a time when looking for what the source did not give
SQLITE_CACHE_KIB = 32 * 1024  # SQLite's page cache during an import (its indexes are written in random order)

_scratch = MetaData()
STALE = Table("import_stale_members", _scratch, Column("segment_id", String(255), primary_key=True),
              Column("contact_id", Integer, primary_key=True), prefixes=["TEMPORARY"])
FIELDS = ("custom_id", "email", "first_name", "last_name", "attributes")


def _bind(session: DbSession, column: Any, value: Any) -> Any:
    """``value`` as the driver takes it for ``column`` (what SQLAlchemy would send), worked out once."""
    dialect = session.get_bind().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value


def _insert_many(session: DbSession, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
                 returning: str | None = None) -> list[Any]:
    """Driver-level multi-row ``INSERT`` of plain values (``VALUES_ROWS`` rows a statement), without SQLAlchemy's
    per-row work: the bulk of an import's time. Values must be as the driver takes them (see ``_bind``).
    With ``returning`` (SQLite 3.35+, PostgreSQL), those columns of the new rows, in no particular order."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    one = f"({', '.join([mark] * len(columns))})"
    found: list[Any] = []
    for start in range(0, len(rows), VALUES_ROWS):
        chunk = rows[start:start + VALUES_ROWS]
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {', '.join([one] * len(chunk))}"
        result = connection.exec_driver_sql(sql + (f" RETURNING {returning}" if returning else ""),
                                            tuple(chain.from_iterable(chunk)))
        if returning:
            found += result.all()
    return found


def _select_in(session: DbSession, sql: str, keys: Sequence[Any]) -> Sequence[Any]:
    """Rows of a driver-level query whose ``{keys}`` is a list of ``keys`` (raw values come back)."""
    if not keys:
        return []
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    return connection.exec_driver_sql(sql.format(keys=", ".join([mark] * len(keys))), tuple(keys)).all()


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

    def add(self, contact_id: int, line: int | None) -> None:
        """Record that the source gave this row (on ``line``)."""
        if contact_id >= len(self._lines):
            more = max(contact_id + 1, 2 * len(self._lines)) - len(self._lines)
            self._lines.frombytes(bytes(4 * more))
            self._bits.extend(bytes(len(self._lines) // 8 + 1 - len(self._bits)))
        self._bits[contact_id >> 3] |= 1 << (contact_id & 7)
        self._lines[contact_id] = line or 0

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
    claims: Claims = field(default_factory=Claims)


def _duplicate(contact: SourceContact, first: int | None) -> SourceFormatError:
    if first is None or contact.line is None:
        return SourceFormatError(f"id {contact.host_id!r} given twice by the contact source", line=contact.line)
    return SourceFormatError(f"id {contact.host_id!r} already on line {first}", line=contact.line)


def _batch_lines(batch: Sequence[SourceContact]) -> None:
    """A duplicate inside the batch is an error naming both lines."""
    lines: dict[str, int | None] = {}
    for contact in batch:
        if contact.host_id in lines:
            raise _duplicate(contact, lines[contact.host_id])
        lines[contact.host_id] = contact.line


class _JsonCache:
    """Attributes as the driver takes them, each distinct set serialised once (most contacts share a few)."""

    def __init__(self, process: Any) -> None:
        self._process = process or (lambda value: value)
        self._done: dict[tuple[tuple[str, Any], ...], Any] = {}

    def __call__(self, attributes: dict[str, Any]) -> Any:
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


def apply_batch(session: DbSession, batch: Sequence[SourceContact], tally: Tally, now: datetime, source: str,
                ensure_segment: Any, rows_name_segments: bool) -> None:
    """Upsert one batch by host id; with ``rows_name_segments``, the contacts' segments get them as members
    (``ensure_segment`` makes each segment's row the first time a contact names it)."""
    _batch_lines(batch)
    keys = [contact.host_id for contact in batch]
    stored = _select_in(session, "SELECT id, host_id, custom_id, email, first_name, last_name, attributes,"
                                 " deleted_at FROM contacts WHERE host_id IN ({keys})", keys)
    existing = {row[1]: _Stored(row[0], row[1], row[2], row[3], row[4], row[5], _json(row[6]), row[7])
                for row in stored}
    new_rows: list[tuple[Any, ...]] = []
    changed_rows = []
    table: Table = Contact.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect
    stamp = _bind(session, table.c.created_at, now)
    as_json = _JsonCache(table.c.attributes.type.dialect_impl(dialect).bind_processor(dialect))
    claims = tally.claims
    for contact in batch:
        fields = _fields(contact)
        old = existing.get(contact.host_id)
        if old is not None and old.id in claims:
            raise _duplicate(contact, claims.line(old.id))
        if old is None:
            new_rows.append((contact.host_id, contact.custom_id, contact.email, contact.first_name,
                             contact.last_name, as_json(fields["attributes"]), source, stamp, stamp))
        elif old.deleted_at is not None or any(getattr(old, key) != fields[key] for key in FIELDS):
            changed_rows.append({"id": old.id, "updated_at": now, "deleted_at": None, **fields})
        else:
            tally.unchanged += 1
    inserted = _insert_many(session, table, ("host_id", "custom_id", "email", "first_name", "last_name",
                                             "attributes", "source", "created_at", "updated_at"), new_rows,
                            returning="host_id, id")
    if changed_rows:
        session.execute(update(Contact), changed_rows)  # bulk UPDATE by primary key
    tally.added += len(new_rows)
    tally.changed += len(changed_rows)
    ids = {host_id: row.id for host_id, row in existing.items()}
    ids.update((row[0], row[1]) for row in inserted)
    for contact in batch:
        claims.add(ids[contact.host_id], contact.line)
    if rows_name_segments:
        _members(session, batch, [row.id for row in existing.values()], ids, tally, ensure_segment)


def _members(session: DbSession, batch: Sequence[SourceContact], existing: list[int], ids: dict[str, int],
             tally: Tally, ensure_segment: Any) -> None:
    """The batch's memberships into segment_members; those of its stored contacts that the source dropped
    into the scratch table (a segment named further down the file loses them at the end)."""
    for contact in batch:
        for segment in contact.segments:
            if segment.id not in tally.named:
                ensure_segment(segment)
                tally.named[segment.id] = segment
    wanted = {(segment.id, ids[contact.host_id]) for contact in batch for segment in contact.segments}
    have: set[tuple[str, int]] = set()
    if existing:
        have = {(row[0], row[1]) for row in _select_in(
            session, "SELECT segment_id, contact_id FROM segment_members WHERE contact_id IN ({keys})", existing)}
    _insert_many(session, STALE, ("segment_id", "contact_id"), list(have - wanted))
    _insert_many(session, SegmentMember.__table__, ("segment_id", "contact_id"),  # type: ignore[arg-type]
                 list(wanted - have))


def prune_members(session: DbSession, segment_id: str, claims: Claims) -> None:
    """Remove the segment's members the source did not give (it gave all of them, row by row)."""
    session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id, SegmentMember.contact_id.in_(
        select(STALE.c.contact_id).where(STALE.c.segment_id == segment_id))))
    last = 0
    while page := _page(session, "SELECT contact_id FROM segment_members WHERE segment_id = {mark} AND contact_id"
                        " > {mark} ORDER BY contact_id LIMIT {mark}", (segment_id, last, PAGE)):
        last = page[-1]
        gone = [contact_id for contact_id in page if contact_id not in claims]
        for start in range(0, len(gone), BATCH):
            session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id,
                                                        SegmentMember.contact_id.in_(gone[start:start + BATCH])))


def _page(session: DbSession, sql: str, params: tuple[Any, ...]) -> list[int]:
    """The first column of a driver-level query (``{mark}`` for each parameter)."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    return [row[0] for row in connection.exec_driver_sql(sql.format(mark=mark), params).all()]


def unclaimed_contacts(session: DbSession, claims: Claims) -> Iterator[list[int]]:
    """Ids of live contacts the source did not give, a page at a time, in order (to delete them in chunks)."""
    last = 0
    while page := _page(session, "SELECT id FROM contacts WHERE id > {mark} AND deleted_at IS NULL ORDER BY id"
                        " LIMIT {mark}", (last, PAGE)):
        last = page[-1]
        if gone := [contact_id for contact_id in page if contact_id not in claims]:
            yield gone


def contact_ids(session: DbSession, host_ids: Sequence[str]) -> set[int]:
    """Row ids of the contacts with these host ids (in chunks of ``BATCH``)."""
    found: set[int] = set()
    for start in range(0, len(host_ids), BATCH):
        found.update(session.scalars(select(Contact.id).where(Contact.host_id.in_(host_ids[start:start + BATCH]))))
    return found
