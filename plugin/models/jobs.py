"""Tables of scheduled work: one lease row per job (who runs the current period), one row per run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import UTCDateTime, db


class JobLease(db.Model):  # type: ignore[name-defined,misc]
    """The period a job was last claimed for; a conditional UPDATE on it decides which process runs."""

    __tablename__ = "job_leases"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    holder: Mapped[str] = mapped_column(String(255))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobRun(db.Model):  # type: ignore[name-defined,misc]
    """One run of a job: when, by whom, what it counted, and how it ended (running, succeeded, failed)."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | cli | api
    holder: Mapped[str] = mapped_column(String(255))
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class ReconcilePoint(db.Model):  # type: ignore[name-defined,misc]
    """How far a survey's responses on the host have been reconciled: the newest update seen and applied."""

    __tablename__ = "reconcile_points"

    survey_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    reconciled_until: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
