"""The delivery log: what was sent to whom and how it went; sending one again; purging old entries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select, update

from plugin.db import DbSession
from plugin.errors import InvalidInput, NotFound
from plugin.models import DELIVERY_STATUSES, EventDelivery, OutboxEvent


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One delivery with its event's id, kind and time."""

    id: int
    event_id: str
    kind: str
    at: datetime
    subscription_id: int
    status: str
    attempts: int
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


_COLUMNS = (EventDelivery.id, OutboxEvent.event_id, OutboxEvent.kind, OutboxEvent.at, EventDelivery.subscription_id,
            EventDelivery.status, EventDelivery.attempts, EventDelivery.last_attempt_at, EventDelivery.last_status,
            EventDelivery.last_error, EventDelivery.next_attempt_at, EventDelivery.delivered_at)


def list_deliveries(session: DbSession, *, subscription_id: int | None = None, status: str | None = None,
                    event_id: str | None = None, limit: int = 100, skip: int = 0) -> tuple[int, list[LogEntry]]:
    """A page of deliveries, newest first, filtered by subscription, status or event id; and the total."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
    query = select(*_COLUMNS).join(OutboxEvent, OutboxEvent.id == EventDelivery.event_id)
    if subscription_id is not None:
        query = query.where(EventDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(EventDelivery.status == status)
    if event_id is not None:
        query = query.where(OutboxEvent.event_id == event_id)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.execute(query.order_by(EventDelivery.id.desc()).limit(limit).offset(skip)).all()
    return total, [_entry(row) for row in rows]


def _entry(row: Any) -> LogEntry:
    """A row of ``_COLUMNS``; a delivered or dead delivery has no next attempt planned."""
    entry = LogEntry(*row)
    return entry if entry.status in ("pending", "failed") else replace(entry, next_attempt_at=None)


def get_delivery(session: DbSession, delivery_id: int) -> LogEntry:
    """One delivery of the log, or NotFound naming ``delivery``."""
    row = session.execute(select(*_COLUMNS).join(OutboxEvent, OutboxEvent.id == EventDelivery.event_id)
                          .where(EventDelivery.id == delivery_id)).first()
    if row is None:
        raise NotFound("delivery", f"delivery {delivery_id} not found")
    return _entry(row)


def redeliver(session: DbSession, delivery_id: int, now: datetime, window: timedelta) -> LogEntry:
    """Send a delivery again at the next drain (delivered, failed or dead), retried for a new ``window``.

    The event keeps its id, so a receiver that has it already sees a duplicate. A delivery a sender holds now
    is sent again once that sender is done with it. The caller commits.
    """
    found = session.connection().execute(update(EventDelivery).where(EventDelivery.id == delivery_id).values(
        status="pending", next_attempt_at=now, retry_until=now + window, delivered_at=None)).rowcount
    if not found:
        raise NotFound("delivery", f"delivery {delivery_id} not found")
    return get_delivery(session, delivery_id)


def purge_events(session: DbSession, now: datetime, days: int) -> dict[str, int]:
    """Delete deliveries delivered or dead more than ``days`` ago, then fanned-out events left without any."""
    cutoff = now - timedelta(days=days)
    deliveries = session.connection().execute(delete(EventDelivery).where(
        EventDelivery.status.in_(("delivered", "dead")), EventDelivery.last_attempt_at < cutoff)).rowcount
    orphans = session.connection().execute(delete(OutboxEvent).where(
        OutboxEvent.fanned_at.is_not(None), OutboxEvent.fanned_at < cutoff,
        ~exists().where(EventDelivery.event_id == OutboxEvent.id))).rowcount
    return {"eventDeliveries": int(deliveries or 0), "events": int(orphans or 0)}
