"""The outbound event tables: subscriptions, the outbox of events, and one delivery per event and subscription."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import UTCDateTime, db


class EventSubscription(db.Model):  # type: ignore[name-defined,misc]
    """A receiver of events: its URL, the kinds it wants, the ``whsec_`` secret we sign with, active or paused.

    The secret is kept as given out (we must sign with it) and shown once, at creation; never listed again.
    """

    __tablename__ = "event_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    kinds: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | paused
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxEvent(db.Model):  # type: ignore[name-defined,misc]
    """One event, written in the transaction of the change it reports; fanned out to subscriptions later.

    ``event_id`` (``evt_...``) is what receivers deduplicate on (the ``webhook-id`` header); ``contact_host_id``
    is resolved when the event is written, so a payload never needs the contact row again. Never a token.
    """

    __tablename__ = "event_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    survey_id: Mapped[str | None] = mapped_column(String(255))
    contact_id: Mapped[int | None] = mapped_column(Integer)
    contact_host_id: Mapped[str | None] = mapped_column(String(255))
    link_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # deliveries made for it

    __table_args__ = (
        # the events not fanned out yet: a small index however long the outbox grows
        Index("ix_event_outbox_unfanned", "id", sqlite_where=text("fanned_at IS NULL"),
              postgresql_where=text("fanned_at IS NULL")),
        Index("ix_event_outbox_at", "at"),
    )


DELIVERY_STATUSES = ("pending", "failed", "delivered", "dead")


class EventDelivery(db.Model):  # type: ignore[name-defined,misc]
    """One event for one subscription: pending, failed (retried at ``next_attempt_at``), delivered or dead.

    A sender claims it by setting ``lease_until`` in a conditional UPDATE; the lease ends by itself when the
    sender dies, and the next drain sends it again with the same event id (at least once). ``priority`` 0 is
    claimed before 1 (``events.priority``: response events before link events).
    """

    __tablename__ = "event_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, ForeignKey("event_outbox.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("event_subscriptions.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    priority: Mapped[int] = mapped_column(SmallInteger, default=1, server_default=text("1"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retry_until: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_holder: Mapped[str | None] = mapped_column(String(255))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)  # the receiver's HTTP status
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        Index("ix_event_deliveries_due", "status", "next_attempt_at"),
        # the waiting deliveries in the order they are claimed: a small index however long the log grows
        Index("ix_event_deliveries_waiting", "priority", "next_attempt_at", "id",
              sqlite_where=text("status IN ('pending', 'failed')"),
              postgresql_where=text("status IN ('pending', 'failed')")),
    )


class EventBacklog(db.Model):  # type: ignore[name-defined,misc]
    """Since when the drains are behind (one row, ``id`` 1; ``since`` NULL when they are not).

    Set and cleared by conditional UPDATEs, so exactly one process of a cluster logs each start and end.
    """

    __tablename__ = "event_backlog"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
