"""The last host syncs and scheduled runs, for the admin page's activity panel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from plugin.db import DbSession
from plugin.jobs.models import JobRun
from plugin.models import SyncRun

_STATUS = {"succeeded": "ok", "failed": "failed", "running": "running"}


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


def recent_runs(session: DbSession, limit: int = 10) -> list[RunRecord]:
    """The newest runs first, at most ``limit``."""
    jobs = session.scalars(select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit))
    records = [RunRecord("scheduled", run.job, run.started_at, run.finished_at, _STATUS.get(run.status, run.status),
                         ", ".join(f"{key} {value}" for key, value in (run.counts or {}).items()), run.error)
               for run in jobs]
    syncs = session.scalars(select(SyncRun).order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit))
    records += [RunRecord("sync", run.actor, run.started_at, run.finished_at, _STATUS.get(run.status, run.status),
                          _sync_summary(run), run.error) for run in syncs]
    return sorted(records, key=lambda record: record.started_at, reverse=True)[:limit]


def _sync_summary(run: SyncRun) -> str:
    if run.status != "succeeded":
        return ""
    return (f"{run.added} added, {run.changed} changed, {run.removed} removed; {run.segments} segments, "
            f"{run.surveys} surveys")
