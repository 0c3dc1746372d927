"""One contact import, batch by batch: scratch tables of what the source gave so far, and each batch's writes.

A source is read once, in batches of ``BATCH`` contacts, inside the caller's transaction; what must be known
about the whole source (every id seen, with its line, for duplicates; every membership it gives, for the
segments it names) lives in two temporary tables, not in memory, so a file of any length runs in flat memory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, exists, select, update
from sqlalchemy.schema import CreateTable

from adapters.base import Contact as SourceContact
from adapters.base import Segment as SourceSegment
from adapters.base import SourceFormatError
from plugin.db import DbSession
from plugin.models import Contact, SegmentMember

BATCH = 5000

_scratch = MetaData()
SEEN = Table("import_seen", _scratch, Column("host_id", String(255), primary_key=True), Column("line", Integer),
             prefixes=["TEMPORARY"])
WANTED = Table("import_members", _scratch, Column("segment_id", String(255), primary_key=True),
               Column("contact_id", Integer, primary_key=True), prefixes=["TEMPORARY"])
FIELDS = ("custom_id", "email", "first_name", "last_name", "attributes")


def _bind(session: DbSession, column: Any, value: Any) -> Any:
    """``value`` as the driver takes it for ``column`` (what SQLAlchemy would send), worked out once."""
    dialect = session.get_bind().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value


def _insert_many(session: DbSession, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """One driver-level ``executemany`` of plain values: without SQLAlchemy's per-row work, the bulk of an
    import's time. Values must be as the driver takes them (see ``_bind``)."""
    if not rows:
        return
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    connection.exec_driver_sql(sql, list(rows))


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


def open_scratch(session: DbSession) -> None:
    """Empty scratch tables for this import (kept per connection: SQLite creates them outside the transaction)."""
    for table in (SEEN, WANTED):
        session.execute(CreateTable(table, if_not_exists=True))
        session.execute(delete(table))


def close_scratch(session: DbSession) -> None:
    """Empty the scratch tables again, so they hold nothing between imports."""
    for table in (SEEN, WANTED):
        session.execute(delete(table))


@dataclass
class Tally:
    """What the batches changed so far, and the segments the contacts named (id -> segment)."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    named: dict[str, SourceSegment] = field(default_factory=dict)


def _duplicate(contact: SourceContact, first: int | None) -> SourceFormatError:
    if first is None or contact.line is None:
        return SourceFormatError(f"id {contact.host_id!r} given twice by the contact source", line=contact.line)
    return SourceFormatError(f"id {contact.host_id!r} already on line {first}", line=contact.line)


def _claim(session: DbSession, batch: Sequence[SourceContact]) -> None:
    """Record the batch's ids; a duplicate (in the batch or anywhere before it) is an error naming both lines."""
    lines: dict[str, int | None] = {}
    for contact in batch:
        if contact.host_id in lines:
            raise _duplicate(contact, lines[contact.host_id])
        lines[contact.host_id] = contact.line
    earlier = dict(_select_in(session, "SELECT host_id, line FROM import_seen WHERE host_id IN ({keys})", list(lines)))
    if earlier:
        first = min((c for c in batch if c.host_id in earlier), key=lambda c: c.line or 0)
        raise _duplicate(first, earlier[first.host_id])
    _insert_many(session, SEEN, ("host_id", "line"), list(lines.items()))


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
                ensure_segment: Any) -> None:
    """Upsert one batch by host id and record the memberships its contacts name (``ensure_segment`` makes
    each segment's row the first time a contact names it)."""
    _claim(session, batch)
    keys = [contact.host_id for contact in batch]
    existing = {row[1]: _Stored(row[0], row[1], *row[2:6], _json(row[6]), row[7]) for row in _select_in(
        session, "SELECT id, host_id, custom_id, email, first_name, last_name, attributes, deleted_at"
                 " FROM contacts WHERE host_id IN ({keys})", keys)}
    new_rows: list[tuple[Any, ...]] = []
    changed_rows = []
    table: Table = Contact.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect
    stamp = _bind(session, table.c.created_at, now)
    as_json = _JsonCache(table.c.attributes.type.dialect_impl(dialect).bind_processor(dialect))
    for contact in batch:
        fields = _fields(contact)
        old = existing.get(contact.host_id)
        if old is None:
            new_rows.append((contact.host_id, contact.custom_id, contact.email, contact.first_name,
                             contact.last_name, as_json(fields["attributes"]), source, stamp, stamp))
        elif old.deleted_at is not None or any(getattr(old, key) != fields[key] for key in FIELDS):
            changed_rows.append({"id": old.id, "updated_at": now, "deleted_at": None, **fields})
        else:
            tally.unchanged += 1
    _insert_many(session, table, ("host_id", "custom_id", "email", "first_name", "last_name", "attributes",
                                  "source", "created_at", "updated_at"), new_rows)
    if changed_rows:
        session.execute(update(Contact), changed_rows)  # bulk UPDATE by primary key
    tally.added += len(new_rows)
    tally.changed += len(changed_rows)
    if any(contact.segments for contact in batch):
        _members(session, batch, existing, {row[0] for row in new_rows}, tally, ensure_segment)


def _members(session: DbSession, batch: Sequence[SourceContact], existing: dict[str, Any], new: set[str],
             tally: Tally, ensure_segment: Any) -> None:
    """The batch's memberships: all into the scratch table; into segment_members those not there yet."""
    for contact in batch:
        for segment in contact.segments:
            if segment.id not in tally.named:
                ensure_segment(segment)
                tally.named[segment.id] = segment
    ids = {host_id: row.id for host_id, row in existing.items()}
    ids.update(_select_in(session, "SELECT host_id, id FROM contacts WHERE host_id IN ({keys})", list(new)))
    wanted = {(segment.id, ids[contact.host_id]) for contact in batch for segment in contact.segments}
    if not wanted:
        return
    have: set[tuple[str, int]] = set()
    if existing:
        have = set(_select_in(session, "SELECT segment_id, contact_id FROM segment_members WHERE contact_id IN"
                                       " ({keys})", [row.id for row in existing.values()]))
    _insert_many(session, WANTED, ("segment_id", "contact_id"), list(wanted))
    _insert_many(session, SegmentMember.__table__, ("segment_id", "contact_id"),  # type: ignore[arg-type]
                 [pair for pair in wanted if pair not in have])


def prune_members(session: DbSession, segment_id: str) -> None:
    """Remove the segment's members the source did not give (it gave all of its members, row by row)."""
    session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id, ~exists().where(
        WANTED.c.segment_id == SegmentMember.segment_id, WANTED.c.contact_id == SegmentMember.contact_id)))


def unseen_contacts(session: DbSession, after: int, limit: int) -> list[int]:
    """Ids of live contacts the source did not give, above ``after``, in order (to delete them in chunks)."""
    return list(session.scalars(select(Contact.id).where(
        Contact.id > after, Contact.deleted_at.is_(None), ~exists().where(SEEN.c.host_id == Contact.host_id))
        .order_by(Contact.id).limit(limit)))


def contact_ids(session: DbSession, host_ids: Sequence[str]) -> set[int]:
    """Row ids of the contacts with these host ids (in chunks of ``BATCH``)."""
    found: set[int] = set()
    for start in range(0, len(host_ids), BATCH):
        found.update(session.scalars(select(Contact.id).where(Contact.host_id.in_(host_ids[start:start + BATCH]))))
    return found
