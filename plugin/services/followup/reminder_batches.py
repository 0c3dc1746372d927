"""Reminder batches: the contacts due now, claimed at once as pending reminders, then confirmed or released.

A batch claims each contact by a conditional INSERT of a pending contact made; a partial unique index allows one
pending row per contact and survey, so of two overlapping batches only one gets a contact, whatever the timing.
Every change of a batch's state is a conditional UPDATE from ``open`` whose row count decides (a confirmation and
the timeout release cannot both win). Each function runs in the caller's transaction and does not commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import aliased

from plugin.clock import iso
from plugin.db import DbSession, UTCDateTime, conflicts
from plugin.errors import Conflict, InvalidInput, NotFound
from plugin.models import Contact, ContactMade, Link, ReminderBatch, Survey
from plugin.services.events import events
from plugin.services.followup import contacts_made
from plugin.services.followup.reminders import Cadence, due
from plugin.services.links.links import get_segment

MAX_BATCH = 1000
CLOSED = {"confirmed": "confirmed", "released": "released", "expired": "released when its time ran out"}


@dataclass(frozen=True, slots=True)
class BatchContact:
    """One contact of a batch, with the link to send and its history (this batch's reminder once confirmed)."""

    contact_host_id: str
    custom_id: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    link_id: int | None
    status: str  # pending | sent | failed
    reminders_sent: int
    last_contacted_at: datetime | None


@dataclass(frozen=True, slots=True)
class BatchView:
    """A batch's state and its contacts."""

    batch: ReminderBatch
    contacts: list[BatchContact]

    def counts(self) -> dict[str, int]:
        """How many of its contacts are pending, sent, failed."""
        found = {"pending": 0, "sent": 0, "failed": 0}
        for contact in self.contacts:
            found[contact.status] += 1
        return found


def _lock_survey(session: DbSession, survey_id: str) -> bool:
    """Take the survey's row lock (PostgreSQL; SQLite's first write below takes the database's): batches of one
    survey are made one after the other, each seeing the claims of those before it. Whether it is anonymous."""
    anonymous = session.scalar(select(Survey.anonymous).where(Survey.id == survey_id).with_for_update())
    if anonymous is None:
        raise NotFound("survey", f"survey {survey_id!r} is not known to the sidecar")
    return bool(anonymous)


def claim_statement(dialect: str, survey_id: str, cadence: Cadence, now: datetime, *, batch_id: int, limit: int,
                    channel: str, actor: str, segment_id: str | None = None, anonymous: bool = False) -> Any:
    """INSERT ... SELECT of up to ``limit`` contacts ``reminders.due`` finds as pending contacts made of the batch,
    skipping a contact another open batch holds (the statement ``create_batch`` runs)."""
    at = literal(now, UTCDateTime)
    rows = due(survey_id, now, cadence, segment_id, anonymous=anonymous).with_only_columns(
        Link.survey_id, Link.contact_id, Link.id, literal("reminder"), literal(channel), at, literal("pending"),
        literal(batch_id), literal("batch"), literal(actor), at).limit(limit)
    columns = ["survey_id", "contact_id", "link_id", "kind", "channel", "sent_at", "status", "batch_id", "source",
               "actor", "recorded_at"]
    return conflicts.insert(dialect, ContactMade).from_select(columns, rows).on_conflict_do_nothing()


def create_batch(session: DbSession, survey_id: str, cadence: Cadence, now: datetime, *, limit: int, channel: str,
                 timeout: timedelta, actor: str, segment_id: str | None = None) -> BatchView:
    """Claim up to ``limit`` contacts due now as pending reminders of a new batch, open until ``now + timeout``.

    Who is due is ``reminders.due``, evaluated here, after the lock, in the claiming statement itself. The one
    place a batch is made: what else a new batch should leave (an event) belongs in this transaction too.
    """
    if not 1 <= limit <= MAX_BATCH:
        raise InvalidInput("limit", f"must be between 1 and {MAX_BATCH}")
    contacts_made.parse_channel("channel", channel)
    if segment_id is not None:
        segment_id = get_segment(session, segment_id).id
    anonymous = _lock_survey(session, survey_id)
    batch = ReminderBatch(survey_id=survey_id, status="open", channel=channel, cadence=cadence.as_json(),
                          actor=actor, created_at=now, expires_at=now + timeout)
    session.add(batch)
    session.flush()  # on SQLite the first write: the database's write lock is held from here to the commit
    session.execute(claim_statement(session.connection().dialect.name, survey_id, cadence, now, batch_id=batch.id,
                                    limit=limit, channel=channel, actor=actor, segment_id=segment_id,
                                    anonymous=anonymous))
    made = view(session, batch)
    events.record(session, "reminder.batch.created", survey_id=survey_id, contact_id=None, link_id=None, at=now,
                  data={"batchId": batch.id, "contacts": len(made.contacts), "channel": channel,
                        "expiresAt": iso(batch.expires_at)})
    return made


def get_batch(session: DbSession, batch_id: int, survey_id: str | None = None) -> ReminderBatch:
    """The batch, or NotFound (also when it belongs to another survey than ``survey_id``)."""
    batch = session.get(ReminderBatch, batch_id)
    if batch is None or (survey_id is not None and batch.survey_id != survey_id):
        where = f" of survey {survey_id!r}" if survey_id is not None else ""
        raise NotFound("batchId", f"reminder batch {batch_id}{where} not found")
    return batch


def view(session: DbSession, batch: ReminderBatch) -> BatchView:
    """The batch with its contacts in contact order, each with its reminders sent (this batch's counted once
    confirmed) and its last contact."""
    row = aliased(ContactMade, name="batch_row")  # the history subqueries correlate to this outer row
    query = (select(Contact.host_id, Contact.custom_id, Contact.first_name, Contact.last_name, Contact.email,
                    row.link_id, row.status, contacts_made.reminders_sent(row.survey_id, row.contact_id),
                    contacts_made.last_contacted(row.survey_id, row.contact_id))
             .join(Contact, Contact.id == row.contact_id)
             .where(row.batch_id == batch.id).order_by(row.contact_id))
    return BatchView(batch, [BatchContact(*found) for found in session.execute(query)])


def _close(session: DbSession, batch: ReminderBatch, status: str, now: datetime) -> bool:
    """Move the batch from open to ``status``; whether this call did it (the row count decides)."""
    moved = session.connection().execute(update(ReminderBatch).where(
        ReminderBatch.id == batch.id, ReminderBatch.status == "open").values(status=status, closed_at=now))
    session.refresh(batch)
    return bool(moved.rowcount == 1)


def _settle(session: DbSession, batch_id: int, status: str, contact_ids: Sequence[int] | None = None) -> None:
    """Pending rows of the batch to ``status`` (those of ``contact_ids`` only, when given)."""
    statement = update(ContactMade).where(ContactMade.batch_id == batch_id, ContactMade.status == "pending")
    if contact_ids is not None:
        statement = statement.where(ContactMade.contact_id.in_(contact_ids))
    session.execute(statement.values(status=status).execution_options(synchronize_session=False))


def _refuse(batch: ReminderBatch, wanted: str) -> Conflict:
    closed = f"{CLOSED[batch.status]} at {batch.closed_at.isoformat() if batch.closed_at else '?'}"
    return Conflict("batchId", f"already {batch.status}",
                    f"reminder batch {batch.id} cannot be {wanted}: it was {closed}"
                    + (" and its contacts are due again; create a new batch" if batch.status != "confirmed" else ""))


def confirm(session: DbSession, batch: ReminderBatch, now: datetime, sent: Sequence[str] | None = None) -> BatchView:
    """The batch's sends happened: its pending reminders become contacts made. With ``sent`` (host contact ids)
    only those; the batch's other contacts are released (a failed send is not a contact made). Confirming a
    confirmed batch again changes nothing; a released one is a Conflict."""
    chosen = None
    if sent is not None:
        if len(sent) > MAX_BATCH or not all(isinstance(item, str) for item in sent):
            raise InvalidInput("sent", f"must be a list of at most {MAX_BATCH} contact ids")
        members = dict(session.execute(select(Contact.host_id, Contact.id).join(
            ContactMade, ContactMade.contact_id == Contact.id).where(ContactMade.batch_id == batch.id)).all())
        unknown = [item for item in sent if item not in members]
        if unknown:
            raise InvalidInput("sent", f"not in batch {batch.id}: {', '.join(repr(u[:80]) for u in unknown[:5])}")
        chosen = [members[item] for item in sent]
    if not _close(session, batch, "confirmed", now):
        if batch.status == "confirmed":
            return view(session, batch)
        raise _refuse(batch, "confirmed")
    _settle(session, batch.id, "sent", chosen)
    _settle(session, batch.id, "failed")
    return view(session, batch)


def release(session: DbSession, batch: ReminderBatch, now: datetime) -> BatchView:
    """The batch's sends failed: its pending contacts are due again. Releasing twice changes nothing; a confirmed
    batch is a Conflict."""
    if not _close(session, batch, "released", now):
        if batch.status in ("released", "expired"):
            return view(session, batch)
        raise _refuse(batch, "released")
    _settle(session, batch.id, "failed")
    return view(session, batch)


def release_expired(session: DbSession, now: datetime) -> dict[str, int]:
    """Release every open batch whose time ran out (the scheduled job); each by the same conditional UPDATE, so a
    confirmation arriving at the same moment either wins or finds it released."""
    batches = contacts = 0
    for batch in session.scalars(select(ReminderBatch).where(ReminderBatch.status == "open",
                                                             ReminderBatch.expires_at <= now)
                                 .order_by(ReminderBatch.id)).all():
        if _close(session, batch, "expired", now):
            pending = session.scalar(select(func.count()).where(ContactMade.batch_id == batch.id,
                                                                ContactMade.status == "pending")) or 0
            _settle(session, batch.id, "failed")
            batches, contacts = batches + 1, contacts + int(pending)
    return {"batches": batches, "contacts": contacts}
