"""Running a job: claim its period (scheduled runs), record the run, call it, record how it ended."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from plugin import error_text, logs, metrics
from plugin.db import db
from plugin.jobs import failures
from plugin.jobs.lease import claim, close_abandoned, holder_name, period_start
from plugin.jobs.tasks import JOBS, Job
from plugin.models import JobRun
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
    """Run one job now. Scheduled runs first claim the current period and skip when another process has it.

    Never raises: a failure, the database's own included (down, full, locked), is one log line (the whole error
    only at DEBUG, its values masked), a failed run record when the database takes one, and otherwise a failure
    this process remembers for ``/healthz/jobs`` (``plugin.jobs.failures``).
    """
    job = job_named(name)
    with app.app_context():
        now = state().clock.now()
        holder = holder_name()
        started = time.perf_counter()
        try:
            run_id = _begin(app, job, trigger, holder, now)
        except SQLAlchemyError as exc:
            db.session.rollback()
            return _not_begun(app, job, trigger, holder, now, started, exc)
        if run_id is None:
            return RunOutcome("skipped")
        context = logs.bind(f"job-{job.name}-{run_id}")  # the run's log lines and audit rows carry this id
        try:
            return _run(app, job, run_id, now, started)
        finally:
            logs.unbind(context)


def _begin(app: Flask, job: Job, trigger: str, holder: str, now: datetime) -> int | None:
    """Claim the period (scheduled runs; None when another process has it) and record the run as running.

    The claim also closes the job's runs left ``running`` by a process that stopped: those begun before the
    previous period, whose lease (their own period) and the next period have both ended.
    """
    period = None
    if trigger == "schedule":
        interval = interval_of(app, job)
        period = period_start(now, interval)
        with db.engine.begin() as connection:
            if not job.shared and not claim(connection, job.name, period, holder, now):  # shared: every process
                return None
            closed = close_abandoned(connection, job.name, period - timedelta(seconds=interval), now)
        if closed:
            log.warning("job %s: %d run(s) left running by a stopped process closed as failed", job.name, closed)
    run = JobRun(job=job.name, trigger=trigger, holder=holder, period_start=period, started_at=now,
                 status="running")
    db.session.add(run)
    db.session.commit()
    return int(run.id)


def _not_begun(app: Flask, job: Job, trigger: str, holder: str, now: datetime, started: float,
               exc: SQLAlchemyError) -> RunOutcome:
    """A run that could not be claimed or recorded: a failed run record if the database takes one now."""
    error = error_text.describe(exc, MAX_ERROR)
    run_id, unrecorded = None, None
    try:
        run = JobRun(job=job.name, trigger=trigger, holder=holder, started_at=now, finished_at=now,
                     status="failed", error=error,
                     period_start=period_start(now, interval_of(app, job)) if trigger == "schedule" else None)
        db.session.add(run)
        db.session.commit()
        run_id = int(run.id)
    except SQLAlchemyError as record_exc:
        db.session.rollback()
        unrecorded = error_text.describe(record_exc, MAX_ERROR)
        failures.of(app).add(job.name, now, error)
    metrics.job_ran(job.name, "failed", time.perf_counter() - started)
    log.error("job %s could not start: %s%s", job.name, error, _not_recorded(error, unrecorded))
    log.debug("job %s could not start, in full: %s", job.name, error_text.in_full(exc))
    return RunOutcome("failed", run_id, None, error)


def _not_recorded(error: str | None, unrecorded: str | None) -> str:
    """The end of a failure's log line when its run could not be recorded either."""
    if unrecorded is None:
        return ""
    same = " (the same error)" if unrecorded == error else f": {unrecorded}"
    return f"; not recorded{same}, kept for /healthz/jobs by this process"


def _run(app: Flask, job: Job, run_id: int, now: datetime, started: float) -> RunOutcome:
    try:
        counts = job.function(db.session, now, app.config)
        db.session.commit()
    except Exception as exc:  # any failure of a job is recorded before it is logged; then the run ends
        db.session.rollback()
        error = error_text.describe(exc, MAX_ERROR)
        unrecorded = _end(app, job, run_id, "failed", None, error, now)
        metrics.job_ran(job.name, "failed", time.perf_counter() - started)
        log.error("job %s failed: %s%s", job.name, error, _not_recorded(error, unrecorded))
        log.debug("job %s failed, in full: %s", job.name, error_text.in_full(exc))
        return RunOutcome("failed", run_id, None, error)
    unrecorded = _end(app, job, run_id, "succeeded", counts, None, now)
    if unrecorded is not None:  # the work is done and committed; only its record is missing
        metrics.job_ran(job.name, "failed", time.perf_counter() - started)
        log.error("job %s did its work (%s) but its run could not be recorded: %s", job.name, counts, unrecorded)
        return RunOutcome("failed", run_id, counts, unrecorded)
    metrics.job_ran(job.name, "succeeded", time.perf_counter() - started)
    log.info("job %s succeeded: %s", job.name, counts)
    return RunOutcome("succeeded", run_id, counts)


def _end(app: Flask, job: Job, run_id: int, status: str, counts: dict[str, Any] | None, error: str | None,
         now: datetime) -> str | None:
    """Record how the run ended (a succeeded job's old records trimmed); None, or why it could not be recorded
    (then remembered for ``/healthz/jobs``, and the run left ``running`` is closed when its lease has ended)."""
    try:
        _finish(run_id, status, counts, error)
        if status == "succeeded" and job.keep_runs:
            _trim_runs(job.name, job.keep_runs)
    except SQLAlchemyError as exc:
        db.session.rollback()
        unrecorded = error_text.describe(exc, MAX_ERROR)
        failures.of(app).add(job.name, now, error or f"its run could not be recorded: {unrecorded}")
        return unrecorded
    if status == "succeeded":
        failures.of(app).clear(job.name)
    return None


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
