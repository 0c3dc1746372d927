"""A delivery stored in the inbox and applied: in one transaction with its claim (the receiver), again when it
was stored before and failed (a repeat), and by the retry job; what is kept of a failure, and the backoff.

The effect itself, and the rules of an attribution, are ``plugin.services.responses.attribution``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DataError, SQLAlchemyError

from plugin import metrics
from plugin.clock import backoff
from plugin.db import DbSession
from plugin.db.prepared import Driver
from plugin.services.responses import attribution
from plugin.services.responses.attribution import Applied, Intake
from plugin.services.responses.records import Delivery
from webhooks import store
from webhooks.models import InboxDelivery
from webhooks.payload import PayloadError, parse_delivery

log = logging.getLogger(__name__)


def apply_stored(session: DbSession, inbox_id: int, delivery: Delivery, now: datetime,
                 intake: Intake) -> Applied | None:
    """Apply a stored delivery and mark it applied, committing; on a database error mark it failed, None."""
    try:
        applied = attribution.apply_delivery(session, delivery, now, intake)
        store.mark_applied(session, inbox_id, now, forget=applied.anonymous)
        session.commit()
        if applied.decided:
            metrics.response_applied(applied.status)
    except SQLAlchemyError as exc:
        session.rollback()
        store.mark_failed(session, inbox_id, _failure(inbox_id, exc))
        if isinstance(exc, DataError):  # a value the database refuses will be refused again: flag it at once
            session.execute(update(InboxDelivery).where(InboxDelivery.id == inbox_id).values(status="dead"))
            metrics.delivery_dead("unstorable")
        session.commit()
        return None
    return applied


def claim_and_apply(session: DbSession, webhook_id: str, delivery: Delivery, body: str, now: datetime,
                    intake: Intake, wait_limit_ms: int | None,
                    turn: Callable[[], AbstractContextManager[Any]] = nullcontext
                    ) -> tuple[bool, Applied | None]:
    """Store a delivery as applied and apply it, in one transaction and one commit; whether this call stored
    it, and the outcome.

    (False, None): this webhook id was stored before (nothing done). (True, None): applying failed; the whole
    transaction was undone and the delivery stored again in one of its own, as failed, for the retry job (an
    error there raises: the delivery is not stored, and the host, answered 503, sends it again). Statements
    wait on locks at most ``wait_limit_ms`` (None: the session's connections have their own bound,
    ``webhooks.connections``). ``turn``: held from the first write to the commit (and around
    the failed delivery's own store), not while the connection is found (``plugin.db.write_turn``).
    """
    sql = Driver(session)
    if wait_limit_ms is not None:
        store.limit_waits(sql, wait_limit_ms)
    with turn():
        inbox_id = claim_applied(session, sql, webhook_id, delivery, body, now)
        if inbox_id is None:  # an error above is raised: not stored, the host is answered 503 and sends it again
            session.commit()
            return False, None
        try:
            applied = effect(session, sql, inbox_id, delivery, now, intake)
        except Exception as exc:  # noqa: BLE001 - any failure of the effect must leave the stored delivery behind
            session.rollback()
            sql = Driver(session)  # a transaction of its own, with the same bound on its waits
            if wait_limit_ms is not None:
                store.limit_waits(sql, wait_limit_ms)
            dead = store_failure(session, sql, webhook_id, delivery, body, now, exc)
            session.commit()
            if dead:
                metrics.delivery_dead("unstorable")
            return True, None
        session.commit()
    if applied.decided:
        metrics.response_applied(applied.status)
    return True, applied


def claim_applied(session: DbSession, sql: Driver, webhook_id: str, delivery: Delivery, body: str,
                  now: datetime) -> int | None:
    """Store a delivery as applied, by the caller's transaction (which applies it): its inbox row's id, or None
    when this webhook id was stored before."""
    return store.claim(session, webhook_id, delivery.event, body, now, status="applied", attempts=1, sql=sql)


def effect(session: DbSession, sql: Driver, inbox_id: int, delivery: Delivery, now: datetime,
           intake: Intake) -> Applied:
    """Apply a claimed delivery in the caller's transaction; an anonymous survey's stored body is forgotten."""
    applied = attribution.apply_delivery(session, delivery, now, intake, sql)
    if applied.anonymous:
        store.forget_body(sql, inbox_id, now)
    return applied


def store_failure(session: DbSession, sql: Driver, webhook_id: str, delivery: Delivery, body: str, now: datetime,
                  exc: Exception) -> bool:
    """Store a delivery whose effect failed, in the caller's transaction, for the retry job: as failed, or as dead
    for a value the database refuses (it would refuse it again); whether it is dead. Logged."""
    dead = isinstance(exc, DataError)
    store.claim(session, webhook_id, delivery.event, body, now, status="dead" if dead else "failed",
                error=_failure(webhook_id, exc), attempts=1, sql=sql)
    return dead


def _failure(delivery: int | str, exc: Exception) -> str:
    """What is kept of a failure to apply ``delivery`` (its inbox id or webhook id): the error's class and first
    line, never the SQL and its values; logged (with the traceback when it is not the database's)."""
    reason = (str(getattr(exc, "orig", exc)).strip().splitlines() or [""])[0]
    log.warning("webhook delivery %s not applied, kept for a retry: %s: %s", delivery, type(exc).__name__,
                reason, exc_info=not isinstance(exc, SQLAlchemyError))
    return f"{type(exc).__name__}: {reason}"[:2000]


def apply_pending(session: DbSession, now: datetime, intake: Intake, limit: int = 100,
                  max_attempts: int = 10) -> dict[str, int]:
    """Apply stored deliveries still pending or failed whose backoff has passed, oldest first.

    A failed attempt waits ``backoff(attempts)``; after ``max_attempts`` the delivery is marked dead (kept,
    flagged for the admin). Returns the counts: applied, failed (will be retried), gaveUp, ignored.
    """
    rows = session.execute(select(InboxDelivery.id, InboxDelivery.body)
                           .where(InboxDelivery.status.in_(("pending", "failed")),
                                  or_(InboxDelivery.next_attempt_at.is_(None), InboxDelivery.next_attempt_at <= now))
                           .order_by(InboxDelivery.id).limit(limit)).all()
    session.commit()
    counts = {"applied": 0, "failed": 0, "gaveUp": 0, "ignored": 0}
    for inbox_id, body in rows:
        try:
            parsed = parse_delivery(body.encode("utf-8"))
        except PayloadError as exc:  # stored before a parser change, say: keep it, stop retrying it
            parsed, error = None, f"payload: {exc}"
        else:
            error = "not a response event"
        if not isinstance(parsed, Delivery):
            session.execute(update(InboxDelivery).where(InboxDelivery.id == inbox_id)
                            .values(status="ignored", last_error=error))
            session.commit()
            counts["ignored"] += 1
        elif apply_stored(session, inbox_id, parsed, now, intake) is not None:
            counts["applied"] += 1
        else:
            attempts = session.scalar(select(InboxDelivery.attempts).where(InboxDelivery.id == inbox_id)) or 0
            dead = attempts >= max_attempts
            session.execute(update(InboxDelivery).where(InboxDelivery.id == inbox_id, InboxDelivery.status == "failed")
                            .values(status="dead" if dead else "failed", next_attempt_at=now + backoff(attempts)))
            session.commit()
            if dead:
                log.error("webhook delivery %s failed %d times; flagged for the admin", inbox_id, attempts)
            counts["gaveUp" if dead else "failed"] += 1
    return counts
