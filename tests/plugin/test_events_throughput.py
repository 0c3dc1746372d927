"""Outbound events at volume: several requests in flight, connections kept, response events before a backlog of
opens, two processes sharing the deliveries by lease (each sent once), the events job in every process, and a
run that has ended when the next is due."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from plugin.db import db
from plugin.jobs.runner import run_job
from plugin.models import EventDelivery
from plugin.services.events import events, subscriptions
from plugin.state import state
from tests.helpers import SURVEY_ID
from tests.plugin.events_http import keep_alive_receiver
from tests.plugin.events_support import POLICY, Receiver, drain_now, real_time, running_receiver, subscribe, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    real_time(app)
    with running_receiver() as running:
        yield running


def _record(kind: str, count: int) -> None:
    """``count`` events of ``kind``, written together as the open log writes them."""
    now = state().clock.now()
    events.record_each(db.session.connection(), kind, [(SURVEY_ID, None, None, now)] * count)  # type: ignore[list-item]
    db.session.commit()


def test_a_completion_is_sent_before_a_backlog_of_opens(seeded: object, receiver: Receiver) -> None:
    subscribe(receiver, "all", ["link.opened", "response.completed"])
    _record("link.opened", 300)
    drain_now(replace(POLICY, limit=0))  # the opens fanned out and waiting: a backlog
    _record("response.completed", 1)  # an answer finishes behind them

    drain_now(replace(POLICY, limit=4, senders=2))

    kinds = Counter(item.body["type"] for item in receiver.received)
    assert kinds == {"response.completed": 1, "link.opened": 3}


def test_deliveries_are_sent_several_at_once(seeded: object, receiver: Receiver) -> None:
    subscribe(receiver, "slow", ["link.opened"])
    _record("link.opened", 16)
    receiver.extra["delay"] = 0.3  # one at a time: 4.8 s

    started = time.monotonic()
    counts = drain_now(replace(POLICY, senders=8))
    took = time.monotonic() - started

    assert counts["delivered"] == 16 and len(set(receiver.ids())) == 16
    assert receiver.most_in_flight == 8
    assert took < 2.0  # two rounds of 0.3 s, and the database's share


def test_a_receiver_s_connections_are_kept_and_reused(app: Flask, seeded: object) -> None:
    real_time(app)
    with keep_alive_receiver() as server:
        created = subscriptions.create_subscription(db.session, {"url": server.url, "events": ["link.opened"]},
                                                    state().clock.now())
        db.session.commit()
        server.use(created.secret)
        _record("link.opened", 60)

        assert drain_now(replace(POLICY, senders=4))["delivered"] == 60

    assert server.rejected == [] and len(server.received) == 60
    ports = {item[4] for item in server.received}
    assert 1 <= len(ports) <= 4  # at most one connection per sender thread, each kept for many deliveries


SENDER = """
import json, sys, time
from pathlib import Path
from plugin import create_app
from tests.helpers import base_config
from tests.plugin.events_support import POLICY, drain_now, real_time
app = create_app(base_config(sys.argv[1]))
go = Path(sys.argv[3])
Path(f"{go}-{sys.argv[2]}").touch()  # ready
while not go.exists():  # both processes start draining at once
    time.sleep(0.005)
with app.app_context():
    real_time(app)
    print(json.dumps(drain_now(POLICY, holder=sys.argv[2])))
"""


def test_two_processes_share_the_deliveries_and_send_each_once(app: Flask, database_url: str, seeded: object,
                                                               receiver: Receiver, tmp_path: Path) -> None:
    subscribe(receiver, "shared", ["link.opened"])
    _record("link.opened", 240)
    drain_now(replace(POLICY, limit=0))  # fanned out here: the two processes only claim and send
    receiver.extra["delay"] = 0.02
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", SENDER, database_url, f"process-{n}", str(go)],
                                  cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                                  text=True) for n in range(2)]
    try:
        wait_for(lambda: all(Path(f"{go}-process-{n}").exists() for n in range(2)), timeout=60)
        go.touch()
        outputs = [process.communicate(timeout=120)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    counts = [json.loads(output.strip().splitlines()[-1]) for output in outputs]

    ids = receiver.ids()
    assert receiver.rejected == []
    assert len(ids) == 240 and len(set(ids)) == 240  # every one arrived, none twice
    assert counts[0]["delivered"] + counts[1]["delivered"] == 240
    assert counts[0]["delivered"] > 0 and counts[1]["delivered"] > 0  # both took a share
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(EventDelivery)
                             .where(EventDelivery.status == "delivered", EventDelivery.attempts == 1)) == 240


def test_the_events_job_runs_in_every_process_and_other_jobs_once_per_period(app: Flask, seeded: object) -> None:
    assert [run_job(app, "events").status for _ in range(2)] == ["succeeded", "succeeded"]
    assert [run_job(app, "reminders").status for _ in range(2)] == ["succeeded", "skipped"]


@pytest.mark.settings(EVENTS_INTERVAL_SECONDS=5, EVENTS_TIMEOUT_SECONDS=1, EVENTS_SENDERS=2)
def test_a_run_of_the_events_job_has_ended_when_the_next_is_due(app: Flask, seeded: object,
                                                                receiver: Receiver) -> None:
    subscribe(receiver, "busy", ["link.opened"])
    _record("link.opened", 1000)  # 25 s of work at 40 a second
    receiver.extra["delay"] = 0.05

    started = time.monotonic()
    outcome = run_job(app, "events")
    took = time.monotonic() - started

    assert outcome.status == "succeeded" and outcome.counts is not None
    assert 0 < outcome.counts["delivered"] < 1000
    assert took < 5.0  # it stopped claiming at 4 s: the next run is not skipped with a warning
    state().clock.advance(seconds=5)  # type: ignore[attr-defined]
    real_time(app)
    assert run_job(app, "events").status == "succeeded"
