"""The last host syncs and scheduled runs, for the admin page's activity panel."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select

from plugin.db import DbSession
from plugin.models import JobRun, SyncRun

_STATUS = {"succeeded": "ok", "failed": "failed", "running": "running"}
WINDOW = 500  # job runs read to find the last real ones among once-a-minute idle retries


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One sync or scheduled run: what ran, when, how it ended, and its error if it failed.

    ``idle_runs`` counts the runs this row stands for when they did nothing (a retry with nothing to retry);
    ``started_at`` is then the newest one's start and ``first_started_at`` the oldest one's.
    """

    kind: str  # sync | scheduled
    name: str
    started_at: datetime
    finished_at: datetime | None
    status: str  # running | ok | failed
    summary: str = ""
    error: str | None = None
    idle_runs: int = 0
    first_started_at: datetime | None = None


def is_idle(run: JobRun) -> bool:
    """A run that succeeded and changed nothing: every count is 0 (a ``skipped`` count aside)."""
    return run.status == "succeeded" and all(not value for key, value in (run.counts or {}).items()
                                             if key != "skipped")


def recent_runs(session: DbSession, limit: int = 10) -> list[RunRecord]:
    """The newest runs first, at most ``limit`` rows; each job's idle runs are one row, where its newest is."""
    jobs = session.scalars(select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(WINDOW))
    records: list[RunRecord] = []
    idle_row: dict[str, int] = {}
    for run in jobs:
        if not is_idle(run):
            records.append(RunRecord("scheduled", run.job, run.started_at, run.finished_at,
                                     _STATUS.get(run.status, run.status),
                                     ", ".join(f"{key} {value}" for key, value in (run.counts or {}).items()),
                                     run.error))
        elif run.job in idle_row:
            row = idle_row[run.job]
            records[row] = replace(records[row], idle_runs=records[row].idle_runs + 1,
                                   first_started_at=run.started_at)
        else:
            idle_row[run.job] = len(records)
            records.append(RunRecord("scheduled", run.job, run.started_at, run.finished_at, "ok", "nothing to do",
                                     idle_runs=1, first_started_at=run.started_at))
    syncs = session.scalars(select(SyncRun).order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit))
    records += [RunRecord("sync", run.actor, run.started_at, run.finished_at, _STATUS.get(run.status, run.status),
                          _sync_summary(run), run.error) for run in syncs]
    return sorted(records, key=lambda record: record.started_at, reverse=True)[:limit]


def _sync_summary(run: SyncRun) -> str:
    if run.status != "succeeded":
        return ""
    return (f"{run.added} added, {run.changed} changed, {run.removed} removed; {run.segments} segments, "
            f"{run.surveys} surveys")
