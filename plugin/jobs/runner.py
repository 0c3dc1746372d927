"""Running a job: claim its period (scheduled runs), record the run, call it, record how it ended."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import delete, select, update

from plugin import logs, metrics
from plugin.db import db
from plugin.jobs.lease import claim, holder_name, period_start
from plugin.jobs.models import JobRun
from plugin.jobs.tasks import JOBS, Job
from plugin.state import state

log = logging.getLogger(__name__)
MAX_ERROR = 2000


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What became of one attempt: skipped (another process has this period), succeeded or failed."""

    status: str
    run_id: int | None = None
    counts: dict[str, int] | None = None
    error: str | None = None


def job_named(name: str) -> Job:
    """The job called ``name``; KeyError with the known names otherwise."""
    try:
        return JOBS[name]
    except KeyError:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(sorted(JOBS))}") from None


def interval_of(app: Flask, job: Job) -> int:
    """The job's interval in seconds; 0 means it is not scheduled."""
    return int(app.config[job.interval_setting])


def run_job(app: Flask, name: str, *, trigger: str = "schedule") -> RunOutcome:
    """Run one job now. Scheduled runs first claim the current period and skip when another process has it."""
    job = job_named(name)
    with app.app_context():
        now = state().clock.now()
        holder = holder_name()
        period = None
        if trigger == "schedule":
            interval = interval_of(app, job)
            period = period_start(now, interval)
            with db.engine.begin() as connection:
                if not job.shared and not claim(connection, job.name, period, holder, now):
                    return RunOutcome("skipped")
        run = JobRun(job=job.name, trigger=trigger, holder=holder, period_start=period, started_at=now,
                     status="running")
        db.session.add(run)
        db.session.commit()
        run_id = run.id
        context = logs.bind(f"job-{job.name}-{run_id}")  # the run's log lines and audit rows carry this id
        started = time.perf_counter()
        try:
            return _run(app, job, run_id, now, started)
        finally:
            logs.unbind(context)


def _run(app: Flask, job: Job, run_id: int, now: Any, started: float) -> RunOutcome:
    try:
        counts = job.function(db.session, now, app.config)
        db.session.commit()
    except Exception as exc:  # any failure of a job is recorded before it is logged; then the run ends
        db.session.rollback()
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
        _finish(run_id, "failed", None, error)
        metrics.job_ran(job.name, "failed", time.perf_counter() - started)
        log.exception("job %s failed", job.name)
        return RunOutcome("failed", run_id, None, error)
    _finish(run_id, "succeeded", counts, None)
    if job.keep_runs:
        _trim_runs(job.name, job.keep_runs)
    metrics.job_ran(job.name, "succeeded", time.perf_counter() - started)
    log.info("job %s succeeded: %s", job.name, counts)
    return RunOutcome("succeeded", run_id, counts)


def _finish(run_id: int, status: str, counts: dict[str, Any] | None, error: str | None) -> None:
    db.session.execute(update(JobRun).where(JobRun.id == run_id).values(
        status=status, counts=counts, error=error, finished_at=state().clock.now()))
    db.session.commit()


def _trim_runs(job: str, keep: int) -> None:
    """Delete the job's run records older than its newest ``keep`` (failed ones too: health reads the newest)."""
    oldest_kept = db.session.scalar(select(JobRun.id).where(JobRun.job == job).order_by(JobRun.id.desc())
                                    .offset(keep - 1).limit(1))
    if oldest_kept is not None:
        db.session.execute(delete(JobRun).where(JobRun.job == job, JobRun.id < oldest_kept))
        db.session.commit()


def recent_runs(job: str | None = None, limit: int = 50) -> list[JobRun]:
    """The newest runs, of one job or of all."""
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return list(db.session.scalars(query))
