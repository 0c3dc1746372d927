"""Several gunicorn workers, each with the in-process scheduler (plugin.wsgi:app): each period runs once."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.servers import fresh_database, gunicorn


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_three_workers_run_each_period_of_a_job_once(backend: str, tmp_path: Path) -> None:
    every_second = {"SCHEDULER": "in-process", "PURGE_INTERVAL_SECONDS": "1", "RETRY_INTERVAL_SECONDS": "0",
                    "RECONCILE_INTERVAL_SECONDS": "0", "SYNC_INTERVAL_SECONDS": "0", "ERASURE_INTERVAL_SECONDS": "0",
                    "EVENTS_INTERVAL_SECONDS": "0"}  # the events job runs in every worker: test_events_throughput
    with fresh_database(backend, tmp_path) as url:
        with gunicorn(url, tmp_path, workers=3, app="plugin.wsgi:app", settings=every_second):
            time.sleep(4.5)
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            runs = connection.execute(sa.text("SELECT period_start, holder, status FROM job_runs")).all()
        engine.dispose()
    periods = Counter(period for period, _, _ in runs)
    assert len(periods) >= 3, runs  # the jobs did run, once a second
    assert max(periods.values()) == 1, periods  # never twice in one period, whatever the workers
    assert {status for _, _, status in runs} == {"succeeded"}
    log = (tmp_path / "gunicorn.log").read_text()
    assert log.count("scheduler started in this process") == 3  # every worker scheduled; the lease chose
