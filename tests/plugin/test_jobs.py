"""Scheduled jobs: once per period across processes, purge in batches, run records, health, CLI and API."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event, func, select

from plugin import create_app
from plugin.clock import FrozenClock
from plugin.db import db
from plugin.jobs.health import job_health
from plugin.jobs.lease import period_start
from plugin.jobs.runner import run_job
from plugin.jobs.scheduler import should_run_in_process, start_background
from plugin.jobs.tasks import JOBS, Job
from plugin.models import AuditEvent, Contact, JobRun, Link, Survey
from plugin.services.admin.purge import purge
from tests.helpers import NOW, base_config


def _race(url: str, at: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    app = create_app(base_config(url))
    app.extensions["personal_links"].clock = FrozenClock(datetime.fromisoformat(at))
    queue.put(run_job(app, "purge").status)


def test_three_processes_racing_one_period_run_the_job_once(app: Flask, database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    at = (NOW + timedelta(seconds=5)).isoformat()
    processes = [context.Process(target=_race, args=(database_url, at, queue)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    outcomes = sorted(queue.get(timeout=5) for _ in processes)
    assert outcomes == ["skipped", "skipped", "succeeded"]
    runs = db.session.scalars(select(JobRun)).all()
    assert len(runs) == 1 and runs[0].period_start == period_start(NOW, 3600)
    later = create_app(base_config(database_url))
    later.extensions["personal_links"].clock = FrozenClock(NOW + timedelta(hours=1))
    assert run_job(later, "purge").status == "succeeded"  # the next period runs again


def _links(count: int, expires_at: datetime, *, current: bool = False) -> None:
    """``count`` links of one contact, made by one INSERT ... SELECT over a generated series."""
    contact = db.session.scalar(select(Contact.id))
    dialect = db.engine.dialect.name
    series = ("SELECT generate_series(1, :n) AS i" if dialect == "postgresql" else
              "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) SELECT i FROM s")
    db.session.execute(sa.text(
        f"INSERT INTO links (survey_id, contact_id, created_at, expires_at, max_uses, use_count, open_count, "
        f"is_current) SELECT 's', :c, :now, :exp, 1, 0, 0, :cur FROM ({series}) AS g"),
        {"n": count, "c": contact, "now": NOW.replace(tzinfo=None), "exp": expires_at.replace(tzinfo=None),
         "cur": current})
    db.session.commit()


@pytest.fixture
def contact(app: Flask) -> None:
    db.session.add(Contact(host_id="c", attributes={}, created_at=NOW, updated_at=NOW))
    db.session.add(Survey(id="s", name="S", public_url="https://f.example/s/s", hidden_field_ids=["plink"],
                          created_at=NOW, updated_at=NOW))
    db.session.commit()


def test_purge_100k_expired_links_in_batches_leaves_live_links(app: Flask, contact: None) -> None:
    _links(100_000, NOW - timedelta(days=400))
    _links(1, NOW + timedelta(days=1), current=True)
    commits = []
    event.listen(db.session(), "after_commit", lambda session: commits.append(1))
    counts = purge(db.session, NOW, token_days=30, link_days=365, actor="test", batch=5000)
    assert counts == {"tokens": 100_000, "links": 100_000}
    assert len(commits) >= 40  # 20 batches of tokens, 20 of rows, then the audit
    remaining = db.session.execute(select(Link.expires_at, Link.purged_at)).all()
    assert remaining == [(NOW + timedelta(days=1), None)]
    detail = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "purged"))
    assert (detail["tokens"], detail["links"]) == (100_000, 100_000)


def test_token_purge_keeps_the_row_and_the_url_answers_expired(app: Flask, contact: None, client) -> None:
    _links(1, NOW - timedelta(days=40))
    counts = purge(db.session, NOW, token_days=30, link_days=365, actor="test")
    assert counts == {"tokens": 1, "links": 0}
    link = db.session.scalar(select(Link))
    assert link.purged_at == NOW
    token = app.extensions["personal_links"].tokens.make(link.id, "s")
    response = client.get(f"/c/{token}", headers={"Accept": "application/json"})
    assert response.status_code == 410 and response.get_json()["state"] == "expired"


def test_runs_are_recorded_with_counts_and_errors(app: Flask, contact: None, monkeypatch) -> None:
    _links(3, NOW - timedelta(days=40))
    outcome = run_job(app, "purge", trigger="cli")
    run = db.session.get(JobRun, outcome.run_id)
    assert (run.status, run.trigger, run.finished_at) == ("succeeded", "cli", NOW)
    assert run.counts == {"tokens": 3, "links": 0, "deliveries": 0, "eventDeliveries": 0, "events": 0}

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(JOBS, "purge", Job("purge", "PURGE_INTERVAL_SECONDS", broken))
    failed = run_job(app, "purge", trigger="cli")
    assert failed.status == "failed" and failed.error == "RuntimeError: disk on fire"
    assert db.session.get(JobRun, failed.run_id).error == "RuntimeError: disk on fire"


def test_purge_drops_old_handled_deliveries_and_keeps_failed_ones(app: Flask) -> None:
    from webhooks.models import InboxDelivery

    old = NOW - timedelta(days=31)
    for number, status in enumerate(("applied", "ignored", "failed", "dead")):
        db.session.add(InboxDelivery(webhook_id=f"old-{number}", received_at=old, event="responseFinished",
                                     body="{}", status=status))
    db.session.add(InboxDelivery(webhook_id="new", received_at=NOW, event="responseFinished", body="{}",
                                 status="applied"))
    db.session.commit()
    counts = purge(db.session, NOW, token_days=30, link_days=365, inbox_days=30, actor="test")
    assert counts["deliveries"] == 2
    kept = db.session.scalars(select(InboxDelivery.webhook_id).order_by(InboxDelivery.webhook_id)).all()
    assert kept == ["new", "old-2", "old-3"]


def _run(job: str, status: str, finished: datetime) -> JobRun:
    return JobRun(job=job, trigger="schedule", holder="h", started_at=finished, finished_at=finished,
                  status=status, error=None if status == "succeeded" else "boom")


def test_health_reports_stale_and_failing_jobs(app: Flask, client) -> None:
    assert job_health(db.session, NOW, app.config)["purge"]["status"] == "waiting"
    db.session.add(_run("purge", "succeeded", NOW - timedelta(hours=1)))
    db.session.commit()
    assert client.get("/healthz/jobs").status_code == 200
    db.session.add_all([_run("purge", "failed", NOW - timedelta(minutes=m)) for m in (30, 20, 10)])
    db.session.commit()
    failing = client.get("/healthz/jobs")
    assert failing.status_code == 503
    assert failing.get_json()["jobs"]["purge"] == {
        "status": "failing", "failuresInARow": 3, "lastError": "boom", "intervalSeconds": 3600,
        "lastSuccessAt": "2026-11-28T11:00:00.000Z", "unrecordedFailures": 0, "lastUnrecordedAt": None}
    db.session.add(_run("purge", "succeeded", NOW - timedelta(hours=4)))
    db.session.execute(sa.delete(JobRun).where(JobRun.status == "failed"))
    db.session.execute(sa.delete(JobRun).where(JobRun.finished_at == NOW - timedelta(hours=1)))
    db.session.commit()
    assert client.get("/healthz/jobs").get_json()["jobs"]["purge"]["status"] == "stale"


def test_api_lists_runs_and_runs_a_job(app: Flask, client, api_headers) -> None:
    ran = client.post("/api/personal-links/v1/jobs/purge/run", headers=api_headers)
    assert ran.status_code == 200 and ran.get_json()["data"]["status"] == "succeeded"
    listed = client.get("/api/personal-links/v1/jobs/runs", headers=api_headers, query_string={"job": "purge"})
    assert [run["trigger"] for run in listed.get_json()["data"]] == ["api"]
    assert client.post("/api/personal-links/v1/jobs/nope/run", headers=api_headers).status_code == 404
    assert client.get("/api/personal-links/v1/jobs/runs", headers=api_headers,
                      query_string={"job": "nope"}).status_code == 422


def test_scheduler_never_starts_in_tests_unless_asked(app: Flask, database_url: str) -> None:
    assert not should_run_in_process(app) and start_background(app) is None
    asked = create_app(base_config(database_url, TESTING=False, PURGE_INTERVAL_SECONDS=1, RETRY_INTERVAL_SECONDS=0,
                                   RECONCILE_INTERVAL_SECONDS=0, SYNC_INTERVAL_SECONDS=0, ERASURE_INTERVAL_SECONDS=0,
                                   REMINDER_RELEASE_INTERVAL_SECONDS=0, EVENTS_INTERVAL_SECONDS=0))
    assert should_run_in_process(asked)
    scheduler = start_background(asked)
    try:
        assert [job.id for job in scheduler.get_jobs()] == ["purge"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not db.session.scalar(select(func.count()).select_from(JobRun)):
            time.sleep(0.2)
        assert db.session.scalar(select(JobRun.trigger)) == "schedule"
    finally:
        scheduler.shutdown(wait=True)
        with asked.app_context():
            db.engine.dispose()


def test_period_start_aligns_to_the_interval() -> None:
    at = datetime(2026, 11, 28, 12, 34, 56, tzinfo=UTC)
    assert period_start(at, 3600) == datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert period_start(at, 60) == datetime(2026, 11, 28, 12, 34, tzinfo=UTC)


def test_scheduler_runs_only_in_the_reloader_child(app: Flask, database_url: str, monkeypatch) -> None:
    debug = create_app(base_config(database_url, TESTING=False))
    debug.debug = True
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert not should_run_in_process(debug)  # the reloader's watching parent
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    assert should_run_in_process(debug)  # the child that serves
    off = create_app(base_config(database_url, TESTING=False, SCHEDULER="off"))
    assert not should_run_in_process(off)
