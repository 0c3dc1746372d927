"""The last host syncs and scheduled runs, for the admin page's activity panel.

Host syncs come from ``sync_runs``; scheduled runs are still to be added from the scheduler's table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from plugin.db import DbSession
from plugin.models import SyncRun


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One sync or scheduled run: what ran, when, how it ended, and its error if it failed."""

    kind: str  # sync | scheduled
    name: str
    started_at: datetime
    finished_at: datetime | None
    status: str  # running | ok | failed
    summary: str = ""
    error: str | None = None


SYNC_STATUS = {"succeeded": "ok", "failed": "failed", "running": "running"}


def recent_runs(session: DbSession, limit: int = 10) -> list[RunRecord]:
    """The newest runs first, at most ``limit``."""
    rows = session.scalars(select(SyncRun).order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit))
    return [RunRecord(kind="sync", name=row.actor, started_at=row.started_at, finished_at=row.finished_at,
                      status=SYNC_STATUS.get(row.status, row.status),
                      summary=(f"{row.added} added, {row.changed} changed, {row.removed} removed; "
                               f"{row.segments} segments, {row.surveys} surveys") if row.status == "succeeded" else "",
                      error=row.error) for row in rows]
