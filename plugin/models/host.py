"""What the sidecar keeps of its work with the host: the record of each sync (services/host)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import UTCDateTime, db


class SyncRun(db.Model):  # type: ignore[name-defined,misc]
    """One sync of contacts, segments and surveys from the adapters: when, what it changed, how it ended.

    Written in its own transactions, so a sync that fails and rolls back still leaves its record.
    """

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    actor: Mapped[str] = mapped_column(String(255))
    added: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    changed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    removed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    segments: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    surveys: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
