"""Draining the outbox: fan events out to subscriptions, claim each delivery with a lease, send it signed.

Nothing here runs inside a request: the scheduler's ``events`` job (or ``personal-links events deliver``) calls
``drain``. A delivery is claimed by a conditional UPDATE on its lease (the row count says who won, the same on
SQLite and PostgreSQL), committed, sent with no database transaction open, then settled. A sender killed
mid-send leaves a lease that ends by itself; the next drain sends the delivery again, with the same event id
(``webhook-id``), so every event arrives at least once and a receiver deduplicates on that id.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from plugin.clock import Clock
from plugin.db import DbSession, UTCDateTime
from plugin.event_models import EventDelivery, EventSubscription, OutboxEvent
from plugin.services import anonymous_events
from plugin.services.events import payload
from webhooks.signature import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

log = logging.getLogger(__name__)

FIRST_BACKOFF = timedelta(seconds=10)
MAX_BACKOFF = timedelta(hours=1)
MAX_RESPONSE_BYTES = 4096  # of a receiver's answer we read at most this much, and keep less
MAX_ERROR = 300
USER_AGENT = "personal-links-events/1"
FAN_OUT_BATCH = 500
WAITING = ("pending", "failed")


@dataclass(frozen=True, slots=True)
class Policy:
    """How a drain sends: each request's timeout, how long an event is retried, the lease, the run's bounds."""

    timeout: float = 5.0
    retry_window: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=60)
    limit: int = 200  # deliveries sent per run at most
    budget: float = 30.0  # seconds after which a run claims no more (the next run goes on)


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt got: the receiver's status (None when it did not answer) and, on failure, why."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the receiver took it (any 2xx)."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


Sender = Callable[[str, dict[str, str], bytes, float], Answer]


def http_sender(http: requests.Session) -> Sender:
    """Send with ``http``: redirects not followed, a timeout on connect and every read, the answer read capped."""

    def send(url: str, headers: dict[str, str], body: bytes, timeout: float) -> Answer:
        deadline = time.monotonic() + 2 * timeout
        try:
            with http.post(url, data=body, headers=headers, timeout=(timeout, timeout), allow_redirects=False,
                           stream=True) as response:
                read = 0
                for chunk in response.iter_content(1024):  # drained only so the connection can be reused
                    read += len(chunk)
                    if read >= MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                        break
                status = response.status_code
        except requests.Timeout:
            return Answer(None, f"no answer within {timeout:g} s")
        except requests.RequestException as exc:  # the URL may hold a secret in its query: name the kind only
            return Answer(None, f"could not connect: {type(exc).__name__}")
        if 300 <= status < 400:
            return Answer(status, f"answered {status}, a redirect (not followed: subscribe the final URL)")
        if not 200 <= status < 300:
            return Answer(status, f"answered {status}")
        return Answer(status)

    return send


def backoff(attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
    """The wait after ``attempts`` failed attempts: 10 s doubling to at most an hour, each 50-100% of it."""
    base = min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)
    return base * (0.5 + rand() / 2)  # jitter, so receivers that come back are not met by every sender at once


def _inserting(dialect: str) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(EventDelivery.__table__)


def fan_out(session: DbSession, now: datetime, window: timedelta, batch: int = FAN_OUT_BATCH) -> int:
    """Make the deliveries of events not fanned out yet, to each active subscription that wants the kind and
    existed when the event happened; mark them fanned out. Safe to run twice at once (unique pairs). Commits.

    An anonymous survey's event is fanned out, and its deliveries made, at days (``anonymous_events``)."""
    made = 0
    while True:
        rows = session.execute(select(OutboxEvent.id, OutboxEvent.kind, OutboxEvent.at, OutboxEvent.data)
                               .where(OutboxEvent.fanned_at.is_(None)).order_by(OutboxEvent.id).limit(batch)).all()
        if not rows:
            return made
        targets = session.execute(select(EventSubscription.id, EventSubscription.kinds, EventSubscription.created_at)
                                  .where(EventSubscription.status == "active")).all()
        anonymous = {row.id for row in rows if anonymous_events.is_anonymous(row.data)}
        pairs = [{"event_id": event.id, "subscription_id": target.id, "status": "pending", "attempts": 0,
                  **anonymous_events.new_delivery(now, window, event.id in anonymous)}
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


_D = EventDelivery.__table__
_CLAIM = update(_D).where(
    _D.c.id == bindparam("p_id"), _D.c.status.in_(WAITING),
    _D.c.next_attempt_at <= bindparam("p_now", type_=UTCDateTime),
    or_(_D.c.lease_until.is_(None), _D.c.lease_until <= bindparam("p_now", type_=UTCDateTime)),
).values(lease_until=bindparam("p_until", type_=UTCDateTime), lease_holder=bindparam("p_holder"),
         attempts=_D.c.attempts + 1, last_attempt_at=bindparam("p_now", type_=UTCDateTime))


def _due(session: DbSession, now: datetime, count: int) -> list[int]:
    return list(session.scalars(
        select(EventDelivery.id).join(EventSubscription, EventSubscription.id == EventDelivery.subscription_id)
        .where(EventDelivery.status.in_(WAITING), EventDelivery.next_attempt_at <= now,
               or_(EventDelivery.lease_until.is_(None), EventDelivery.lease_until <= now),
               EventSubscription.status == "active")
        .order_by(EventDelivery.next_attempt_at, EventDelivery.id).limit(count)))


def claim(session: DbSession, delivery_id: int, now: datetime, holder: str, lease: timedelta) -> bool:
    """True for exactly one caller while the delivery is due and unleased; commits the claim."""
    won = session.connection().execute(_CLAIM, {"p_id": delivery_id, "p_now": now, "p_until": now + lease,
                                                "p_holder": holder}).rowcount == 1
    session.commit()
    return won


def _settle(session: DbSession, delivery_id: int, holder: str, answer: Answer, now: datetime,
            rand: Callable[[], float], anonymous: bool = False) -> str:
    """Record an attempt's outcome: delivered, or failed with its next attempt, or dead past its window
    (``anonymous``: an anonymous survey's event, whose delivery keeps days)."""
    row = session.get(EventDelivery, delivery_id)
    if row is None:  # its subscription was deleted meanwhile
        session.commit()
        return "gone"
    if answer.ok:
        values: dict[str, Any] = {"status": "delivered", "delivered_at": now, "last_error": None}
    else:
        retry_at = now + backoff(row.attempts, rand)
        dead = retry_at > row.retry_until
        values = {"status": "dead" if dead else "failed", "next_attempt_at": retry_at,
                  "last_error": (answer.error or "failed")[:MAX_ERROR]}
    if anonymous:
        values = anonymous_events.settled(values, now)
    # Only the holder settles: a sender whose lease ran out and was taken over leaves the row to the new one.
    settled = session.connection().execute(update(EventDelivery).where(
        EventDelivery.id == delivery_id, EventDelivery.lease_holder == holder, EventDelivery.status.in_(WAITING))
        .values(**values, last_status=answer.status, lease_until=None, lease_holder=None)).rowcount == 1
    session.commit()
    return str(values["status"]) if settled else "taken-over"


def _message(session: DbSession, delivery_id: int) -> Any:
    return session.execute(
        select(OutboxEvent.event_id, OutboxEvent.kind, OutboxEvent.at, OutboxEvent.survey_id,
               OutboxEvent.contact_host_id, OutboxEvent.link_id, OutboxEvent.data, EventSubscription.url,
               EventSubscription.secret)
        .join(EventDelivery, EventDelivery.event_id == OutboxEvent.id)
        .join(EventSubscription, EventSubscription.id == EventDelivery.subscription_id)
        .where(EventDelivery.id == delivery_id)).first()


def deliver_one(session: DbSession, delivery_id: int, clock: Clock, policy: Policy, holder: str, send: Sender,
                rand: Callable[[], float] = random.random) -> str | None:
    """Claim, send and settle one delivery; its new status, or None when another sender has it."""
    if not claim(session, delivery_id, clock.now(), holder, policy.lease):
        return None
    message = _message(session, delivery_id)
    session.commit()  # no transaction stays open while the receiver takes its time
    if message is None:
        return "gone"
    event, url, secret = message, message.url, message.secret
    body = payload(event)
    stamp = int(clock.now().timestamp())
    headers = {ID_HEADER: event.event_id, TIMESTAMP_HEADER: str(stamp),
               SIGNATURE_HEADER: sign(event.event_id, stamp, body, secret),
               "content-type": "application/json", "user-agent": USER_AGENT}
    answer = send(url, headers, body, policy.timeout)
    status = _settle(session, delivery_id, holder, answer, clock.now(), rand,
                     anonymous_events.is_anonymous(event.data))
    if status in ("failed", "dead"):
        log.warning("event %s to subscription url %s: %s (%s)", event.event_id, url.split("?", 1)[0],
                    answer.error, status)
    return status


def drain(session: DbSession, clock: Clock, policy: Policy, holder: str, send: Sender,
          rand: Callable[[], float] = random.random) -> dict[str, int]:
    """Fan out, then send due deliveries until none is left, ``policy.limit`` is reached or the budget spent."""
    counts = {"fannedOut": fan_out(session, clock.now(), policy.retry_window), "delivered": 0, "failed": 0,
              "dead": 0}
    started = time.monotonic()
    sent = 0
    while sent < policy.limit and time.monotonic() - started < policy.budget:
        due = _due(session, clock.now(), min(50, policy.limit - sent))
        session.commit()
        if not due:
            break
        won = 0
        for delivery_id in due:
            if sent >= policy.limit or time.monotonic() - started >= policy.budget:
                break
            status = deliver_one(session, delivery_id, clock, policy, holder, send, rand)
            if status is not None:
                won += 1
                sent += 1
                if status in counts:
                    counts[status] += 1
        if not won:  # every one was taken by another sender meanwhile
            break
    return counts
