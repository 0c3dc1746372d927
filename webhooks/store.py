"""The inbox of deliveries and the registered secrets: claimed by a unique ``webhook-id`` before any effect."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, select, update

from plugin.clock import day_of
from plugin.db import DbSession, change_busy_timeout
from plugin.db.prepared import Driver, Prepared
from plugin.services.set_once import at_param, insert_ignoring
from webhooks.models import InboxDelivery, WebhookRegistration
from webhooks.signature import parse_secret

log = logging.getLogger(__name__)
_INBOX = InboxDelivery.__table__


# Built once: webhook intake is a hot path, and building a statement costs more than running it.
_FIND = select(_INBOX.c.id, _INBOX.c.status).where(_INBOX.c.webhook_id == bindparam("p_webhook"))
_APPLIED = Prepared(update(_INBOX).where(_INBOX.c.id == bindparam("p_id")).values(
    status="applied", applied_at=at_param("p_now"), attempts=_INBOX.c.attempts + 1, last_error=None))
FORGOTTEN = ""  # the body of an applied delivery of an anonymous survey: nothing of the response is kept
# An applied delivery of an anonymous survey: its body and event emptied, its times kept only as days, so the
# row cannot be lined up with the response's own times on the host.
_FORGET = Prepared(update(_INBOX).where(_INBOX.c.id == bindparam("p_id")).values(
    body=FORGOTTEN, event="response", received_at=at_param("p_day"), applied_at=at_param("p_day"),
    next_attempt_at=None))
_CLAIM = Prepared(lambda dialect: insert_ignoring(dialect, _INBOX, "webhook_id").values(
    webhook_id=bindparam("p_webhook"), received_at=at_param("p_received"), event=bindparam("p_event"),
    body=bindparam("p_body"), status=bindparam("p_status"), attempts=bindparam("p_attempts"),
    last_error=bindparam("p_error"), applied_at=at_param("p_applied")))


def limit_waits(sql: Driver, milliseconds: int) -> None:
    """Bound how long this transaction's statements may wait on locks, so the host gets an answer in time.

    PostgreSQL: ``SET LOCAL`` lock and statement timeouts (they end with the transaction). SQLite: the
    connection's busy timeout, until the connection goes back to the pool (``plugin.db.change_busy_timeout``).
    A wait past the limit raises OperationalError: 503 before the delivery is stored, a stored delivery kept
    for the retry job after.
    """
    if sql.dialect.name == "postgresql":
        sql.connection.exec_driver_sql(f"SELECT set_config('lock_timeout', '{int(milliseconds)}', true), "
                                       f"set_config('statement_timeout', '{int(milliseconds)}', true)")
    else:
        change_busy_timeout(sql.connection.connection, milliseconds)


def claim(session: DbSession, webhook_id: str, event: str, body: str, now: datetime,
          status: str = "pending", error: str | None = None, attempts: int = 0, sql: Driver | None = None
          ) -> int | None:
    """Store a delivery under its webhook id: the new row's id, or None when that id was stored before.

    ``status="applied"`` stores it as applied now, by the caller's transaction (which applies it); ``attempts``
    counts the attempts made (one, applied or failed, by the receiver).
    """
    made = (sql or Driver(session)).first(_CLAIM, {
        "p_webhook": webhook_id, "p_received": now, "p_event": event[:64].replace("\x00", "\ufffd"), "p_body": body,
        "p_status": status, "p_attempts": attempts, "p_error": error,
        "p_applied": now if status == "applied" else None})
    return None if made is None else int(made[0])


def find(session: DbSession, webhook_id: str) -> Row[Any] | None:
    """The id and status of the stored delivery with this webhook id."""
    return session.connection().execute(_FIND, {"p_webhook": webhook_id}).first()


def forget_body(sql: Driver, delivery_id: int, now: datetime) -> None:
    """Empty an applied delivery's body and event and keep its times as days (an anonymous survey's delivery)."""
    sql.run(_FORGET, {"p_id": delivery_id, "p_day": day_of(now)})


def mark_applied(session: DbSession, delivery_id: int, now: datetime, *, forget: bool = False) -> None:
    """Record a successful application (one more attempt); ``forget``: then ``forget_body`` (the retry job needs
    the body of an anonymous survey's delivery no more)."""
    sql = Driver(session)
    sql.run(_APPLIED, {"p_id": delivery_id, "p_now": now})
    if forget:
        forget_body(sql, delivery_id, now)


def mark_failed(session: DbSession, delivery_id: int, error: str) -> None:
    """Record a failed attempt; the delivery stays in the inbox for ``apply_pending``."""
    session.execute(update(InboxDelivery).where(InboxDelivery.id == delivery_id,
                                                InboxDelivery.status != "applied").values(
        status="failed", attempts=InboxDelivery.attempts + 1, last_error=error[:2000]))


def registered_secrets(session: DbSession) -> list[bytes]:
    """Keys of the webhooks the sidecar registered on the host and has not removed; malformed ones skipped."""
    keys = []
    rows = session.execute(select(WebhookRegistration.id, WebhookRegistration.secret)
                           .where(WebhookRegistration.removed_at.is_(None)))
    for row_id, secret in rows:
        try:
            keys.append(parse_secret(secret))
        except ValueError as exc:
            log.warning("webhook registration %s has an unusable secret: %s", row_id, exc)
    return keys


def deliveries(session: DbSession, status: str | None, limit: int, skip: int) -> tuple[int, list[InboxDelivery]]:
    """A page of stored deliveries, newest first, of one status or all; and their total."""
    query = select(InboxDelivery)
    if status:
        query = query.where(InboxDelivery.status == status)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    return total, list(session.scalars(query.order_by(InboxDelivery.id.desc()).limit(limit).offset(skip)))


def requeue(session: DbSession, delivery_id: int) -> tuple[InboxDelivery | None, bool]:
    """Queue a dead or failed delivery again with its attempts reset; one conditional UPDATE decides.

    Returns the row (None when there is none) and whether it was queued again.
    """
    changed = session.execute(
        update(InboxDelivery).where(InboxDelivery.id == delivery_id, InboxDelivery.status.in_(("dead", "failed")))
        .values(status="failed", attempts=0, next_attempt_at=None)).rowcount == 1  # type: ignore[attr-defined]
    session.flush()
    row = session.get(InboxDelivery, delivery_id)
    if row is not None:
        session.refresh(row)
    return row, changed
