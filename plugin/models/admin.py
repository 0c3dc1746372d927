"""The sidecar's own records: the audit trail, API keys, failed authentications and idempotency keys
(services/admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import UTCDateTime, db


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    """One action on a link (issued, opened, revoked, used, purged) or on the sidecar itself; who and when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(255))
    link_id: Mapped[int | None] = mapped_column(Integer, index=True)
    survey_id: Mapped[str | None] = mapped_column(String(255))
    contact_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)  # the request or job run that wrote it


class ApiKey(db.Model):  # type: ignore[name-defined,misc]
    """An admin API key: only its SHA-256 is stored; ``prefix`` finds the row without revealing the key."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("prefix"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuthFailure(db.Model):  # type: ignore[name-defined,misc]
    """Failed authentications (bad API key, failed sign-in) of one client address in one fixed time window.

    In the database so every process and instance counts against the same limit.
    """

    __tablename__ = "auth_failures"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class IdempotencyKey(db.Model):  # type: ignore[name-defined,misc]
    """A client's ``Idempotency-Key`` and the first answer to it; claimed in the transaction of the effect."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and body
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
