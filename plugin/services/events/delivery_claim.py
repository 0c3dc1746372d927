"""The outbox's side of a drain: fanning events out, claiming batches of due deliveries by lease, settling them.

A batch is claimed by one UPDATE over the first due deliveries in claim order (priority, then due time, then id):
on PostgreSQL its inner SELECT locks them ``FOR UPDATE SKIP LOCKED``, so senders of several instances claim
different rows side by side without waiting on each other; SQLite has one writer at a time, so its UPDATE reads
and claims in one step. Either way a delivery is leased to one holder, and only that holder settles it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update

from plugin.db import DbSession, conflicts
from plugin.models import EventDelivery, EventSubscription, OutboxEvent
from plugin.services.events import anonymous_events
from plugin.services.events.events import priority

FAN_OUT_BATCH = 500
WAITING = ("pending", "failed")
MAX_ERROR = 300

_D = EventDelivery.__table__


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to this sender, with what sending it needs and what settling it needs."""

    id: int
    attempts: int  # this attempt included
    retry_until: datetime
    event_id: str
    kind: str
    at: datetime
    survey_id: str | None
    contact_host_id: str | None
    link_id: int | None
    data: dict[str, Any] | None
    url: str
    secret: str


def _inserting(dialect: str) -> Any:
    return conflicts.insert(dialect, _D)


def fan_out(session: DbSession, now: datetime, window: timedelta, batch: int = FAN_OUT_BATCH) -> int:
    """Make the deliveries of events not fanned out yet, to each active subscription that wants the kind and
    existed when the event happened; mark them fanned out. Safe to run twice at once (unique pairs; on
    PostgreSQL a batch another drain is fanning out is skipped). Commits.

    An anonymous survey's event is fanned out, and its deliveries made, at days (``anonymous_events``)."""
    made = 0
    postgres = session.connection().dialect.name == "postgresql"
    while True:
        query = (select(OutboxEvent.id, OutboxEvent.kind, OutboxEvent.at, OutboxEvent.data)
                 .where(OutboxEvent.fanned_at.is_(None)).order_by(OutboxEvent.id).limit(batch))
        rows = session.execute(query.with_for_update(skip_locked=True) if postgres else query).all()
        if not rows:
            session.commit()
            return made
        targets = session.execute(select(EventSubscription.id, EventSubscription.kinds, EventSubscription.created_at)
                                  .where(EventSubscription.status == "active")).all()
        anonymous = {row.id for row in rows if anonymous_events.is_anonymous(row.data)}
        pairs = [{"event_id": event.id, "subscription_id": target.id, "status": "pending", "attempts": 0,
                  "priority": priority(event.kind), **anonymous_events.new_delivery(now, window, event.id in anonymous)}
                 for event in rows for target in targets
                 if event.kind in (target.kinds or ())
                 and anonymous_events.heard_by(target.created_at, event.at, event.id in anonymous)]
        if pairs:
            statement = _inserting(session.connection().dialect.name).on_conflict_do_nothing(
                index_elements=["event_id", "subscription_id"])
            session.execute(statement, pairs)
        for day_only in {row.id in anonymous for row in rows}:
            session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(
                [row.id for row in rows if (row.id in anonymous) == day_only]))
                .values(fanned_at=anonymous_events.stamp(now, day_only)))
        session.commit()
        made += len(pairs)
        if len(rows) < batch:
            return made


def _due(now: datetime) -> Any:
    """The conditions of a delivery that may be claimed now."""
    return (_D.c.status.in_(WAITING), _D.c.next_attempt_at <= now,
            or_(_D.c.lease_until.is_(None), _D.c.lease_until <= now))


def claim_batch(session: DbSession, now: datetime, holder: str, lease: timedelta, count: int) -> list[Claimed]:
    """Lease up to ``count`` due deliveries of active subscriptions to ``holder``, first in claim order; each
    counts an attempt. Commits the claim before returning (no transaction stays open while receivers answer)."""
    if count <= 0:
        return []
    first = (select(_D.c.id).join(EventSubscription, EventSubscription.id == _D.c.subscription_id)
             .where(*_due(now), EventSubscription.status == "active")
             .order_by(_D.c.priority, _D.c.next_attempt_at, _D.c.id).limit(count))
    if session.connection().dialect.name == "postgresql":
        # Locked once, in a CTE that is evaluated once: as an IN (subquery) the planner may run it again for
        # every row it updates, each run skipping the rows this very statement has just changed (all claimed).
        due = first.with_for_update(of=_D, skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        which = _D.c.id == due.c.id
    else:
        which = _D.c.id.in_(first)  # SQLite: one writer; the subquery is read once, under the write lock
    claimed = session.execute(
        update(_D).where(which, *_due(now))
        .values(lease_until=now + lease, lease_holder=holder, attempts=_D.c.attempts + 1, last_attempt_at=now)
        .returning(_D.c.id)).scalars().all()
    if not claimed:
        session.commit()
        return []
    rows = session.execute(
        select(_D.c.id, _D.c.attempts, _D.c.retry_until, OutboxEvent.event_id, OutboxEvent.kind, OutboxEvent.at,
               OutboxEvent.survey_id, OutboxEvent.contact_host_id, OutboxEvent.link_id, OutboxEvent.data,
               EventSubscription.url, EventSubscription.secret)
        .join(OutboxEvent, OutboxEvent.id == _D.c.event_id)
        .join(EventSubscription, EventSubscription.id == _D.c.subscription_id)
        .where(_D.c.id.in_(claimed))
        .order_by(_D.c.priority, _D.c.next_attempt_at, _D.c.id)).all()
    session.commit()
    return [Claimed(*row) for row in rows]


_SETTLE = update(_D).where(_D.c.id == bindparam("p_id"), _D.c.lease_holder == bindparam("p_holder"),
                           _D.c.status.in_(WAITING))


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went: ``ok``, the receiver's status, the error when it failed."""

    claimed: Claimed
    ok: bool
    status: int | None
    error: str | None


def settle(session: DbSession, holder: str, outcomes: Sequence[Outcome], now: datetime,
           backoff: Callable[[int], timedelta]) -> dict[int, str]:
    """Record attempts' outcomes in one transaction: delivered, or failed with the next attempt after
    ``backoff(attempts)``, or dead past the delivery's window. Only the lease holder settles: a sender whose
    lease ran out and was taken over leaves the row to the new holder. The status of each row settled.

    An anonymous survey's event (``anonymous_events``) settles with days, never the moment of its attempt."""
    settled: dict[int, str] = {}
    # one UPDATE per 2xx code answered (usually one: 200 or 204), anonymous events' apart
    by_status: dict[tuple[int | None, bool], list[int]] = {}
    for outcome in outcomes:
        if outcome.ok:
            key = (outcome.status, anonymous_events.is_anonymous(outcome.claimed.data))
            by_status.setdefault(key, []).append(outcome.claimed.id)
    for (code, anonymous), ids in by_status.items():
        values: dict[str, Any] = {"status": "delivered", "delivered_at": now, "last_error": None}
        if anonymous:
            values = anonymous_events.settled(values, now)
        rows = session.execute(update(_D).where(_D.c.id.in_(ids), _D.c.lease_holder == holder,
                                                _D.c.status.in_(WAITING))
                               .values(**values, last_status=code, lease_until=None, lease_holder=None)
                               .returning(_D.c.id)).scalars().all()
        settled.update(dict.fromkeys(rows, "delivered"))
    for outcome in outcomes:
        if outcome.ok:
            continue
        claimed = outcome.claimed
        retry_at = now + backoff(claimed.attempts)
        status = "dead" if retry_at > claimed.retry_until else "failed"
        failed: dict[str, Any] = {"status": status, "next_attempt_at": retry_at,
                                  "last_error": (outcome.error or "failed")[:MAX_ERROR]}
        if anonymous_events.is_anonymous(claimed.data):
            failed = anonymous_events.settled(failed, now)
        won = session.connection().execute(_SETTLE.values(
            **failed, last_status=outcome.status, lease_until=None, lease_holder=None),
            {"p_id": claimed.id, "p_holder": holder}).rowcount
        if won == 1:
            settled[claimed.id] = status
    session.commit()
    return settled
