"""Suppressions: contacts and addresses not to be reminded (a bounce, an opt-out, a complaint).

``suppressed`` is THE test "is this contact suppressed", as SQL: non-respondents, the funnel, segment issuance
and the contact listings all use it. ``add`` is the one place a suppression is recorded (the API, the CLI and
the CSV import all call it), ``remove`` the one place it is lifted; both write an audit row.

A suppression names a contact (its row), an address (lower-cased), or both: a contact is suppressed when a
suppression in force names its row or its address, so one synced again under a new host id stays suppressed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, exists, func, or_, select, union, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from plugin.clock import iso
from plugin.db import DbSession
from plugin.errors import InvalidInput, NotFound
from plugin.models import Contact, Suppression
from plugin.services.events import events
from plugin.services.links.links import audit
from plugin.services.links.params import parse_choice, parse_datetime
from plugin.services.text import check_text

REASONS = ("bounce", "opt-out", "complaint")
MAX_NOTE = 500
MAX_EMAIL = 320
MAX_BATCH = 1000  # entries in one API request
CLOCK_SKEW = timedelta(minutes=5)  # an ``at`` this far ahead of the sidecar's clock is still taken
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")

IN_FORCE = Suppression.removed_at.is_(None)


class _unindexed(FunctionElement[str]):
    """A column SQLite must not look up by its index here (``+column``): without statistics it would read every
    contact and probe the suppressions; this way it reads the suppressions and probes ``ix_contacts_email_address``
    (5 ms instead of 500 at a million contacts). Other databases get the column itself."""

    name = "unindexed"
    inherit_cache = True
    type = String()


@compiles(_unindexed)
def _column(element: _unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_unindexed, "sqlite")
def _plus_column(element: _unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(element.clauses, **kw))


def _address(email: Any) -> Any:
    """A contact's address column as suppressions store addresses (trimmed, lower-cased), as SQL."""
    return func.lower(func.trim(email))


def _probes(contact_id: Any, email: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The two EXISTS of ``suppressed``: a suppression in force names the contact's row; one names its address."""
    by_contact = exists().where(IN_FORCE, Suppression.contact_id == contact_id)
    if email is None:
        holder = aliased(Contact)
        by_email = exists().where(IN_FORCE, holder.id == contact_id, holder.email.is_not(None),
                                  Suppression.email == _address(holder.email))
    else:
        by_email = exists().where(IN_FORCE, Suppression.email == _address(email))
    return by_contact, by_email


def suppressed(contact_id: Any, email: Any = None) -> ColumnElement[bool]:
    """Whether the contact is suppressed, as SQL: a suppression in force names its row or its address.

    ``contact_id`` is the contact's row id column of the outer query (``Link.contact_id``, ``Contact.id``);
    ``email`` its address column when the query has the contact at hand (``Contact.email``), else the address
    is looked up by row id. Two correlated EXISTS, each one lookup in a partial index
    (``ix_suppressions_contact``, ``ix_suppressions_email``). To leave suppressed contacts out, use
    ``not_suppressed`` (the same probes), not ``~suppressed(...)``.
    """
    return or_(*_probes(contact_id, email))


def not_suppressed(contact_id: Any, email: Any = None) -> ColumnElement[bool]:
    """The contact is not suppressed: ``NOT EXISTS ... AND NOT EXISTS ...``, the negation of ``suppressed``.

    Written as two NOT EXISTS (not ``NOT (EXISTS OR EXISTS)``) so PostgreSQL plans them as anti-joins with real
    row estimates: the OR form gets a guessed selectivity that doubles the estimated cost of a page of a million
    links and, past the JIT thresholds, adds 400 ms of compilation to a 16 ms query.
    """
    by_contact, by_email = _probes(contact_id, email)
    return and_(~by_contact, ~by_email)


def suppressed_contacts() -> Any:
    """The row ids of every suppressed contact, found from the suppressions (by row, and by address through
    ``ix_contacts_email_address``): the same rule as ``suppressed``, for counting over a large set, where its
    cost follows the number of suppressions rather than the number of rows counted."""
    by_email = (select(Contact.id).select_from(Suppression)
                .join(Contact, _address(Contact.email) == _unindexed(Suppression.email)).where(IN_FORCE))
    return union(select(Suppression.contact_id).where(IN_FORCE, Suppression.contact_id.is_not(None)), by_email)


def reason_of(contact_id: Any, email: Any) -> Any:
    """The reason of the oldest suppression in force of a contact (by row, else by address), or NULL, as SQL."""
    def first(condition: Any) -> Any:
        return (select(Suppression.reason).where(IN_FORCE, condition)
                .order_by(Suppression.at, Suppression.id).limit(1).scalar_subquery())
    return func.coalesce(first(Suppression.contact_id == contact_id),
                         first(Suppression.email == _address(email)))


def normalised_email(text: str, field: str = "email") -> str:
    """An address as suppressions store it: trimmed, lower-cased; InvalidInput when it is not an address."""
    value = check_text(field, text).strip().lower()
    if len(value) > MAX_EMAIL:
        raise InvalidInput(field, f"at most {MAX_EMAIL} characters")
    if not _EMAIL.fullmatch(value):
        raise InvalidInput(field, f"{text[:80]!r} is not an e-mail address")
    return value


@dataclass(frozen=True, slots=True)
class Entry:
    """One suppression to record, checked: the contact's row id and/or the address, why, since when."""

    contact_id: int | None
    email: str | None
    reason: str
    note: str | None
    at: datetime


def _contact_row(session: DbSession, host_id: str, field: str) -> tuple[int, str | None]:
    """Row id and address of the contact with this host id (deleted ones too: a re-sync brings them back)."""
    row = session.execute(select(Contact.id, Contact.email).where(Contact.host_id == host_id)).first()
    if row is None:
        raise NotFound(field, f"{field}: contact {host_id[:80]!r} not found")
    return row[0], row[1]


def entry(session: DbSession, given: Mapping[str, Any], now: datetime, prefix: str = "") -> Entry:
    """An Entry from ``contactId`` and/or ``email``, ``reason``, ``note``, ``at`` (ISO-8601, default now).

    Fields in errors carry ``prefix`` (``suppressions[3].``). With a contact id only, the contact's address is
    recorded too (when it is one), so the address stays suppressed whatever id it comes back under.
    """
    def text(name: str) -> str | None:
        value = given.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise InvalidInput(prefix + name, "must be a string")
        return check_text(prefix + name, value)

    host_id, email = text("contactId"), text("email")
    if host_id is None and email is None:
        raise InvalidInput(prefix + "contactId", "give contactId or email (or both)")
    if host_id is not None and len(host_id) > 255:
        raise InvalidInput(prefix + "contactId", "at most 255 characters")
    reason = parse_choice(prefix + "reason", text("reason"), REASONS)
    if reason is None:
        raise InvalidInput(prefix + "reason", f"required: one of {', '.join(sorted(REASONS))}")
    note = text("note")
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(prefix + "note", f"at most {MAX_NOTE} characters")
    at_text = text("at")
    at = parse_datetime(prefix + "at", at_text) if at_text else now
    if at > now + CLOCK_SKEW:
        raise InvalidInput(prefix + "at", "is in the future: give when the bounce, opt-out or complaint happened")
    address = normalised_email(email, prefix + "email") if email is not None else None
    contact_id = None
    if host_id is not None:
        contact_id, own = _contact_row(session, host_id, prefix + "contactId")
        if address is None and own and _EMAIL.fullmatch(own.strip().lower()):
            address = own.strip().lower()
    return Entry(contact_id, address, reason, note.strip() if note else None, at)


def _in_force(session: DbSession, item: Entry) -> Suppression | None:
    """A suppression in force that already covers the entry (same contact row, else same address)."""
    conditions = []
    if item.contact_id is not None:
        conditions.append(Suppression.contact_id == item.contact_id)
    if item.email is not None:
        conditions.append(Suppression.email == item.email)
    return session.scalars(select(Suppression).where(IN_FORCE, or_(*conditions))
                           .order_by(Suppression.id).limit(1)).first()


def add(session: DbSession, item: Entry, now: datetime, actor: str) -> tuple[Suppression, bool]:
    """Record one suppression; (the row, True) when new, (the one in force, False) when already covered.

    The one place a suppression is recorded: the audit row ``suppressed`` and the ``contact.suppressed``
    event are written here. Runs in the caller's transaction.
    """
    found = _in_force(session, item)
    if found is not None:
        return found, False
    row = Suppression(contact_id=item.contact_id, email=item.email, reason=item.reason, note=item.note,
                      at=item.at, created_at=now, created_by=actor)
    session.add(row)
    session.flush()
    audit(session, "suppressed", actor, now, contact_id=item.contact_id,
          detail={"suppressionId": row.id, "reason": item.reason, "email": item.email, "note": item.note})
    events.record(session, "contact.suppressed", survey_id=None, contact_id=item.contact_id, link_id=None, at=now,
                  data={"suppressionId": row.id, "reason": item.reason, "email": item.email, "since": iso(item.at)})
    return row, True


def remove(session: DbSession, suppression_id: int, now: datetime, actor: str) -> Suppression:
    """Lift one suppression: the row stays, with who removed it and when (and an ``unsuppressed`` audit row).

    NotFound when there is no such suppression; one removed already is returned as it is.
    """
    row = session.get(Suppression, suppression_id)
    if row is None:
        raise NotFound("suppression", f"suppression {suppression_id} not found")
    if row.removed_at is None:
        session.execute(update(Suppression).where(Suppression.id == row.id, IN_FORCE)
                        .values(removed_at=now, removed_by=actor))
        audit(session, "unsuppressed", actor, now, contact_id=row.contact_id,
              detail={"suppressionId": row.id, "reason": row.reason, "email": row.email})
        session.refresh(row)
    return row


def remove_matching(session: DbSession, given: Mapping[str, Any], now: datetime, actor: str,
                    prefix: str = "") -> list[Suppression]:
    """Lift every suppression in force of a contact (``contactId``: by its row and its address) or of an address."""
    host_id, email = given.get("contactId"), given.get("email")
    for name, value in (("contactId", host_id), ("email", email)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(prefix + name, "must be a string")
    if not host_id and not email:
        raise InvalidInput(prefix + "contactId", "give contactId or email")
    conditions = []
    if host_id:
        contact_id, own = _contact_row(session, check_text(prefix + "contactId", host_id), prefix + "contactId")
        conditions.append(Suppression.contact_id == contact_id)
        if own:
            conditions.append(Suppression.email == own.strip().lower())
    if email:
        conditions.append(Suppression.email == normalised_email(email, prefix + "email"))
    ids = list(session.scalars(select(Suppression.id).where(IN_FORCE, or_(*conditions)).order_by(Suppression.id)))
    return [remove(session, suppression_id, now, actor) for suppression_id in ids]


@dataclass(frozen=True, slots=True)
class Listed:
    """A suppression with the host id of its contact (None: by address only, or the contact row is gone)."""

    row: Suppression
    contact_host_id: str | None


def listed(session: DbSession, rows: Sequence[Suppression]) -> list[Listed]:
    """The rows with their contacts' host ids (one statement)."""
    ids = {row.contact_id for row in rows if row.contact_id is not None}
    hosts: dict[int, str] = {}
    if ids:
        hosts = {row[0]: row[1] for row in session.execute(select(Contact.id, Contact.host_id)
                                                           .where(Contact.id.in_(ids)))}
    return [Listed(row, hosts.get(row.contact_id) if row.contact_id is not None else None) for row in rows]


def list_suppressions(session: DbSession, *, host_id: str | None = None, email: str | None = None,
                      reason: str | None = None, removed: bool = False, limit: int = 100,
                      after: int | None = None) -> tuple[list[Listed], int | None]:
    """Suppressions by id (in force; with ``removed``, lifted ones too), filtered; the page and the next cursor."""
    query = select(Suppression, Contact.host_id).outerjoin(Contact, Contact.id == Suppression.contact_id)
    if not removed:
        query = query.where(IN_FORCE)
    if host_id is not None:
        contact_id, own = _contact_row(session, host_id, "contactId")
        matches = [Suppression.contact_id == contact_id]
        if own:
            matches.append(Suppression.email == own.strip().lower())
        query = query.where(or_(*matches))
    if email is not None:
        query = query.where(Suppression.email == normalised_email(email))
    if reason is not None:
        query = query.where(Suppression.reason == reason)
    if after is not None:
        query = query.where(Suppression.id > after)
    rows = session.execute(query.order_by(Suppression.id).limit(limit + 1)).all()
    more = len(rows) > limit
    page = [Listed(row, contact) for row, contact in rows[:limit]]
    return page, page[-1].row.id if more else None


def of_contacts(session: DbSession, contacts: Sequence[tuple[int, str | None]]) -> dict[int, Suppression]:
    """The oldest suppression in force of each of these contacts (row id, address), for a page of a listing."""
    if not contacts:
        return {}
    emails = sorted({email.strip().lower() for _, email in contacts if email})
    matches = [Suppression.contact_id.in_([contact_id for contact_id, _ in contacts])]
    if emails:
        matches.append(Suppression.email.in_(emails))
    rows = session.scalars(select(Suppression).where(IN_FORCE, or_(*matches))
                           .order_by(Suppression.at, Suppression.id)).all()
    found: dict[int, Suppression] = {}
    for contact_id, email in contacts:
        address = email.strip().lower() if email else None
        for row in rows:
            if row.contact_id == contact_id or (address is not None and row.email == address):
                found[contact_id] = row
                break
    return found
