"""The outbound backlog: how many due deliveries wait and since when; one log line when it starts, one when it ends.

A drain measures it when it ends (one indexed query) and publishes it as two gauges. The drains are *behind*
when the oldest due delivery has waited longer than ``after`` (one interval of the events job: a drain should
have sent it by then), and *caught up* again once none has waited half that long. Whether the cluster is
behind is one row (``event_backlog``) changed by conditional UPDATEs, so exactly one process logs the start and
exactly one the end, however many instances drain and however long the backlog lasts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from plugin import metrics
from plugin.db import DbSession, conflicts
from plugin.models import EventBacklog, EventDelivery, EventSubscription
from plugin.services.events.delivery_claim import WAITING

log = logging.getLogger(__name__)
ROW = 1


@dataclass(frozen=True, slots=True)
class Backlog:
    """Deliveries due now to active subscriptions, and how long the oldest of them has waited."""

    pending: int
    oldest_seconds: float


def measure(session: DbSession, now: datetime) -> Backlog:
    """The backlog now: due deliveries (sent or not yet, leased or not) of active subscriptions; paused ones and
    failed ones waiting out their backoff are not behind."""
    count, oldest = session.execute(
        select(func.count(), func.min(EventDelivery.next_attempt_at))
        .join(EventSubscription, EventSubscription.id == EventDelivery.subscription_id)
        .where(EventDelivery.status.in_(WAITING), EventDelivery.next_attempt_at <= now,
               EventSubscription.status == "active")).one()
    return Backlog(int(count or 0), max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0)


def observe(session: DbSession, now: datetime, after: timedelta) -> Backlog:
    """Measure the backlog, publish it as metrics, and log one line when the cluster falls behind or catches
    up (whichever process sees it first). Commits."""
    backlog = measure(session, now)
    metrics.event_backlog(backlog.pending, backlog.oldest_seconds)
    limit = after.total_seconds()
    since = session.scalar(select(EventBacklog.since).where(EventBacklog.id == ROW))
    if backlog.oldest_seconds > limit and since is None and _mark(session, now):
        log.warning("outbound events are behind: %d deliveries due, the oldest waiting %.0f s (more than %.0f s); "
                    "one line again when they catch up", backlog.pending, backlog.oldest_seconds, limit)
    elif backlog.oldest_seconds <= limit / 2 and since is not None and _unmark(session):
        log.info("outbound events caught up after %.0f s behind: %d deliveries due, the oldest waiting %.1f s",
                 (now - since).total_seconds(), backlog.pending, backlog.oldest_seconds)
    session.commit()
    return backlog


def _mark(session: DbSession, now: datetime) -> bool:
    """Set ``since`` if nobody has; True for the one process that did."""
    insert = conflicts.insert(session.connection().dialect.name, EventBacklog)
    session.execute(insert.values(id=ROW, since=None).on_conflict_do_nothing(index_elements=["id"]))
    marked = session.connection().execute(update(EventBacklog).where(EventBacklog.id == ROW,
                                                                     EventBacklog.since.is_(None)).values(since=now))
    return marked.rowcount == 1


def _unmark(session: DbSession) -> bool:
    """Clear ``since`` if it is set; True for the one process that did."""
    cleared = session.connection().execute(update(EventBacklog).where(EventBacklog.id == ROW,
                                                                      EventBacklog.since.is_not(None)).values(since=None))
    return cleared.rowcount == 1
