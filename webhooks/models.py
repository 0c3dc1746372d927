"""The webhook tables: the inbox of verified deliveries, and the webhooks registered on the host."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import UTCDateTime, db

INBOX_STATUSES = ("pending", "applied", "failed", "ignored", "dead")


class InboxDelivery(db.Model):  # type: ignore[name-defined,misc]
    """One verified delivery, stored by its ``webhook-id`` before it is applied; a repeat finds this row.

    ``status``: pending (stored, not yet applied), applied, failed (``last_error`` says why; retried later)
    or ignored (an event we do not handle, or an authentic body we cannot parse), or dead (the retry job
    gave up after its attempts: flagged for the admin, who can queue it again).
    """

    __tablename__ = "webhook_inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(256), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    event: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # backoff of the retry job


class WebhookRegistration(db.Model):  # type: ignore[name-defined,misc]
    """A webhook the sidecar created on the host, with the secret the host returned (shown only once)."""

    __tablename__ = "webhook_registrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(32))
    host_webhook_id: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
