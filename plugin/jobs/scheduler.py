"""APScheduler wiring: each job on its interval, with a fixed id, calling ``run_job`` (which claims the period).

``start_background(app)`` runs the jobs inside a server process (the single-process default);
``run_blocking(app)`` is the dedicated ``personal-links scheduler`` process. Several of either may run at
once: the lease makes each job run once per period anyway.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from flask import Flask

from plugin.jobs.runner import interval_of, run_job
from plugin.jobs.tasks import JOBS

if TYPE_CHECKING:  # APScheduler is imported when jobs are scheduled: every other command starts without it
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)
EXTENSION = "personal_links.scheduler"


def add_jobs(scheduler: BaseScheduler, app: Flask) -> list[str]:
    """Schedule every job whose interval is above zero; return their names."""
    from apscheduler.triggers.interval import IntervalTrigger

    names = []
    for job in JOBS.values():
        interval = interval_of(app, job)
        if interval <= 0:
            continue
        scheduler.add_job(run_job, IntervalTrigger(seconds=interval), args=[app, job.name], id=job.name,
                          name=job.name, coalesce=True, max_instances=1, replace_existing=True,
                          misfire_grace_time=max(1, interval // 2))
        names.append(job.name)
    return names


def should_run_in_process(app: Flask) -> bool:
    """In the server unless turned off, in tests, or in the Flask reloader's watching parent process."""
    if app.config["SCHEDULER"] != "in-process" or app.testing:
        return False
    return not (app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true")


def start_background(app: Flask) -> BackgroundScheduler | None:
    """Start the jobs in this process, once per app; None when this process should not run them."""
    if not should_run_in_process(app) or EXTENSION in app.extensions:
        return app.extensions.get(EXTENSION)
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(daemon=True, timezone="UTC")
    names = add_jobs(scheduler, app)
    scheduler.start()
    app.extensions[EXTENSION] = scheduler
    log.info("scheduler started in this process: %s", ", ".join(names) or "no jobs")
    return scheduler


def run_blocking(app: Flask) -> None:
    """Run the jobs in this process until it is stopped (the dedicated scheduler process)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC")
    names = add_jobs(scheduler, app)
    log.info("scheduler process running: %s", ", ".join(names) or "no jobs")
    scheduler.start()
