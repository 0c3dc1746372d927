"""Which jobs are healthy: each scheduled job's last runs, judged against its interval and failure limit.

Failures this process could not record (the database down, full or locked: ``plugin.jobs.failures``) count too,
newer than any record; when the database cannot even be read, they are all there is to report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from plugin.clock import iso
from plugin.db import DbSession
from plugin.jobs.failures import Unrecorded
from plugin.jobs.tasks import JOBS
from plugin.models import JobRun

RECENT = 20


def job_health(session: DbSession, now: datetime, config: Mapping[str, Any],
               unrecorded: Mapping[str, Unrecorded] | None = None) -> dict[str, dict[str, Any]]:
    """Per scheduled job: status ok | stale | failing | waiting, the last success and the failures in a row."""
    report: dict[str, dict[str, Any]] = {}
    for name, interval in _scheduled(config):
        runs = session.scalars(select(JobRun).where(JobRun.job == name, JobRun.status != "running")
                               .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(RECENT)).all()
        report[name] = _judge(runs, (unrecorded or {}).get(name), now, interval, config)
    return report


def remembered_health(now: datetime, config: Mapping[str, Any],
                      unrecorded: Mapping[str, Unrecorded]) -> dict[str, dict[str, Any]]:
    """Per scheduled job, what this process remembers when the run records cannot be read: only its failures."""
    return {name: _judge([], unrecorded[name], now, interval, config)
            for name, interval in _scheduled(config) if name in unrecorded}


def _scheduled(config: Mapping[str, Any]) -> list[tuple[str, int]]:
    return [(job.name, int(config[job.interval_setting])) for job in JOBS.values()
            if int(config[job.interval_setting]) > 0]


def _judge(runs: Sequence[JobRun], unrecorded: Unrecorded | None, now: datetime, interval: int,
           config: Mapping[str, Any]) -> dict[str, Any]:
    failures = 0
    for run in runs:
        if run.status != "failed":
            break
        failures += 1
    success = next((run.finished_at for run in runs if run.status == "succeeded"), None)
    last_error = runs[0].error if failures else None
    if unrecorded is not None and (success is None or unrecorded.last_at > success):
        failures += unrecorded.count
        if not runs or unrecorded.last_at >= runs[0].started_at:
            last_error = unrecorded.error
    else:
        unrecorded = None  # a success recorded since (here or in another process)
    stale_after = timedelta(seconds=interval * int(config["JOB_STALE_AFTER_INTERVALS"]))
    if failures >= int(config["JOB_FAILURE_LIMIT"]):
        status = "failing"
    elif success is None:
        status = "waiting" if not runs and unrecorded is None else "failing"
    elif now - success > stale_after:
        status = "stale"
    else:
        status = "ok"
    return {"status": status, "lastSuccessAt": iso(success), "failuresInARow": failures, "lastError": last_error,
            "intervalSeconds": interval, "unrecordedFailures": unrecorded.count if unrecorded else 0,
            "lastUnrecordedAt": iso(unrecorded.last_at) if unrecorded else None}
