"""Which jobs are healthy: each scheduled job's last runs, judged against its interval and failure limit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from plugin.clock import iso
from plugin.db import DbSession
from plugin.jobs.models import JobRun
from plugin.jobs.tasks import JOBS

RECENT = 20


def job_health(session: DbSession, now: datetime, config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per scheduled job: status ok | stale | failing | waiting, the last success and the failures in a row."""
    report: dict[str, dict[str, Any]] = {}
    for job in JOBS.values():
        interval = int(config[job.interval_setting])
        if interval <= 0:
            continue
        runs = session.scalars(select(JobRun).where(JobRun.job == job.name, JobRun.status != "running")
                               .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(RECENT)).all()
        failures = 0
        for run in runs:
            if run.status != "failed":
                break
            failures += 1
        success = next((run.finished_at for run in runs if run.status == "succeeded"), None)
        stale_after = timedelta(seconds=interval * int(config["JOB_STALE_AFTER_INTERVALS"]))
        if failures >= int(config["JOB_FAILURE_LIMIT"]):
            status = "failing"
        elif success is None:
            status = "waiting" if not runs else "failing"
        elif now - success > stale_after:
            status = "stale"
        else:
            status = "ok"
        report[job.name] = {"status": status, "lastSuccessAt": iso(success),
                            "failuresInARow": failures, "lastError": runs[0].error if failures else None,
                            "intervalSeconds": interval}
    return report
