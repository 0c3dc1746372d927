"""Scheduled jobs when the database itself fails (refuses a write, is locked, is down): one log line per failure,
a failed run record when the database takes one, the failure remembered for ``/healthz/jobs`` when it does not,
runs left ``running`` closed once their lease has ended; and no statement or bound value in a stored error."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from plugin import create_app
from plugin.clock import FrozenClock
from plugin.db import db
from plugin.jobs.runner import run_job
from plugin.jobs.scheduler import add_jobs
from plugin.jobs.tasks import JOBS, Job
from plugin.models import Contact, JobRun
from tests.helpers import NOW, POSTGRES_URL, base_config
from tests.servers import free_port

ONLY_PURGE = {f"{name}_INTERVAL_SECONDS": 0
              for name in ("RETRY", "RECONCILE", "SYNC", "REMINDER_RELEASE", "EVENTS", "ERASURE")}
ADDRESS = "ann@example.com"


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What was logged at WARNING or above, by any logger (the scheduler library's included)."""
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


def assert_one_line_each(records: list[logging.LogRecord], count: int) -> None:
    assert len(records) == count, [record.getMessage() for record in records]
    for record in records:
        assert record.exc_info is None and "\n" not in record.getMessage() and "[SQL" not in record.getMessage()


@contextmanager
def refusing(database_url: str, statement: str, table: str) -> Iterator[None]:
    """The database refuses every ``statement`` (UPDATE, INSERT) on ``table`` (a trigger), as a full disk would."""
    engine = sa.create_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:
            connection.execute(sa.text(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'could not extend file: No space left on device'; END $$ LANGUAGE plpgsql"))
            connection.execute(sa.text(f"CREATE TRIGGER refuse BEFORE {statement} ON {table} "
                                       "FOR EACH ROW EXECUTE FUNCTION refuse()"))
        else:
            connection.execute(sa.text(f"CREATE TRIGGER refuse BEFORE {statement} ON {table} "
                                       "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TRIGGER refuse" + (f" ON {table}" if postgres else "")))
            if postgres:
                connection.execute(sa.text("DROP FUNCTION refuse()"))
        engine.dispose()


@pytest.fixture
def failing_claims(app: Flask, database_url: str) -> Iterator[None]:
    """The database refuses every claim of a period."""
    with refusing(database_url, "UPDATE", "job_leases"):
        yield


def test_a_claim_the_database_refuses_is_one_line_and_a_failed_run(
        app: Flask, failing_claims: None, clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    outcomes = []
    for _ in range(3):
        outcomes.append(run_job(app, "purge"))
        clock.advance(hours=1)  # the next period
    assert [outcome.status for outcome in outcomes] == ["failed"] * 3
    assert_one_line_each(problems(caplog), 3)
    assert "job purge could not start:" in problems(caplog)[0].getMessage()
    runs = db.session.scalars(sa.select(JobRun).order_by(JobRun.id)).all()
    assert [run.status for run in runs] == ["failed"] * 3 and all(run.finished_at for run in runs)
    assert runs[0].error.split(":")[0] in ("IntegrityError", "RaiseException", "InternalError")
    assert "[SQL" not in runs[0].error and "UPDATE" not in runs[0].error
    health = app.test_client().get("/healthz/jobs")
    assert health.status_code == 503
    assert health.json["jobs"]["purge"]["status"] == "failing"
    assert health.json["jobs"]["purge"]["failuresInARow"] == 3


def locked_url(database_url: str) -> str:
    """The database's URL with a short wait for a lock (PostgreSQL's lock_timeout; SQLite: see the test)."""
    return database_url + ("%20-clock_timeout%3D300" if database_url.startswith("postgresql") else "")


def test_a_locked_database_is_one_line_per_run_and_its_failures_are_reported_from_memory(
        app: Flask, database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.import_module("plugin.db"), "SQLITE_BUSY_TIMEOUT_MS", 200)
    locked = create_app(base_config(locked_url(database_url)))
    clock = FrozenClock(NOW)
    locked.extensions["personal_links"].clock = clock
    caplog.set_level(logging.INFO)
    engine = sa.create_engine(database_url)
    with engine.connect() as blocker:
        if engine.dialect.name == "postgresql":
            blocker.execute(sa.text("BEGIN"))
            blocker.execute(sa.text("LOCK TABLE job_leases, job_runs IN ACCESS EXCLUSIVE MODE"))
        else:
            blocker.exec_driver_sql("BEGIN IMMEDIATE")  # the one SQLite writer, held
        for _ in range(3):
            assert run_job(locked, "purge").status == "failed"
            clock.advance(hours=1)
        health = locked.test_client().get("/healthz/jobs")
        blocker.rollback()
    engine.dispose()
    assert_one_line_each(problems(caplog)[:3], 3)
    assert all("not recorded" in record.getMessage() for record in problems(caplog)[:3])
    assert health.status_code == 503
    purge = health.json["jobs"]["purge"]
    assert (purge["status"], purge["unrecordedFailures"], purge["failuresInARow"]) == ("failing", 3, 3)
    assert purge["lastError"].startswith(("OperationalError: database is locked", "LockNotAvailable: "))
    with locked.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0  # nothing could be written
        clock.advance(hours=1)
        assert run_job(locked, "purge").status == "succeeded"  # the lock is gone: the next period runs
        assert locked.test_client().get("/healthz/jobs").json["jobs"]["purge"]["unrecordedFailures"] == 0
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def down_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that cannot be reached: a SQLite file in a folder that is not there, a PostgreSQL port closed."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gone' / 'db.sqlite3'}"
    request.getfixturevalue("postgres_url")  # the server is there (or the test says why not); this port is not
    return POSTGRES_URL.replace(":5432/", f":{free_port()}/")


def test_a_database_that_is_down_gives_one_line_per_scheduled_run_and_health_from_memory(
        down_url: str, caplog: pytest.LogCaptureFixture) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    down = create_app(base_config(down_url, PURGE_INTERVAL_SECONDS=1, **ONLY_PURGE))
    caplog.set_level(logging.INFO)
    scheduler = BackgroundScheduler(timezone="UTC")
    assert add_jobs(scheduler, down) == ["purge"]
    scheduler.start()
    try:
        deadline = time.monotonic() + 15
        while len(problems(caplog)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    lines = [record for record in problems(caplog) if record.name == "plugin.jobs.runner"]
    runs = len(lines)
    assert runs >= 3 and all("job purge could not start" in record.getMessage() for record in lines)
    assert_one_line_each(lines, runs)
    # the scheduler library logs no traceback (at most that a run was late, on a busy machine)
    assert [record for record in problems(caplog) if record.levelno >= logging.ERROR and record not in lines] == []
    assert all(record.exc_info is None for record in caplog.records)
    health = down.test_client().get("/healthz/jobs")
    assert health.status_code == 503 and health.json["database"] == "unreachable"
    purge = health.json["jobs"]["purge"]
    assert purge["status"] == "failing" and purge["unrecordedFailures"] == runs
    assert purge["lastError"].startswith("OperationalError: ")
    with down.app_context():
        db.engine.dispose()


def test_a_run_left_running_is_closed_as_failed_when_its_lease_has_ended(app: Flask) -> None:
    def running(started: datetime) -> JobRun:
        return JobRun(job="purge", trigger="schedule", holder="gone:1", started_at=started, status="running",
                      period_start=started.replace(minute=0))

    old, recent = running(NOW - timedelta(hours=2)), running(NOW - timedelta(minutes=30))
    db.session.add_all([old, recent])
    db.session.commit()
    assert run_job(app, "purge").status == "succeeded"
    db.session.expire_all()
    assert (old.status, old.finished_at) == ("failed", NOW) and old.error.startswith("abandoned: ")
    assert recent.status == "running"  # its period ended, the next one has not: it may still be at work


def test_a_job_error_is_stored_and_logged_without_its_statement_or_values(
        app: Flask, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    def sync_twice(session: Any, now: datetime, config: Any) -> dict[str, int]:
        for _ in range(2):
            session.add(Contact(host_id=ADDRESS, email=ADDRESS, attributes={"email": ADDRESS}, created_at=now,
                                updated_at=now))
            session.flush()
        return {}

    monkeypatch.setitem(JOBS, "sync", Job("sync", "SYNC_INTERVAL_SECONDS", sync_twice))
    caplog.set_level(logging.DEBUG, logger="plugin")
    outcome = run_job(app, "sync", trigger="cli")
    assert outcome.status == "failed"
    stored = db.session.get(JobRun, outcome.run_id).error
    assert stored.startswith(("IntegrityError: ", "UniqueViolation: "))
    assert ADDRESS not in stored and "[SQL" not in stored and "INSERT" not in stored
    assert_one_line_each(problems(caplog), 1)
    assert stored in problems(caplog)[0].getMessage()
    assert not [record for record in caplog.records if ADDRESS in record.getMessage()]
    [full] = [record.getMessage() for record in caplog.records if record.levelno == logging.DEBUG
              and "in full" in record.getMessage()]
    assert "[SQL: INSERT INTO contacts" in full and "[parameters:" in full and "***" in full


def test_a_run_the_database_cannot_record_is_a_503_from_the_api_and_counted_by_health(
        app: Flask, database_url: str, api_headers: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    client = app.test_client()
    with refusing(database_url, "INSERT", "job_runs"):
        answer = client.post("/api/personal-links/v1/jobs/purge/run", headers=api_headers)
        db.session.rollback()  # the test's session lets the trigger go
    health = client.get("/healthz/jobs").json["jobs"]["purge"]  # from memory: no record holds the failure
    assert answer.status_code == 503, answer.json
    assert "could not be recorded" in answer.json["error"]["detail"] and "[SQL" not in answer.json["error"]["detail"]
    assert (health["unrecordedFailures"], health["status"]) == (1, "failing")
    assert_one_line_each(problems(caplog), 1)
