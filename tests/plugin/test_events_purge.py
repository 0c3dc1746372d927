"""Old outbound events leave the delivery log after their retention; the every-few-seconds job keeps few runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from plugin.db import db
from plugin.jobs import tasks
from plugin.jobs.runner import run_job
from plugin.models import EventDelivery, JobRun, OutboxEvent
from plugin.services.events import events, subscriptions
from plugin.services.events.delivery import fan_out
from plugin.services.events.delivery_log import purge_events
from tests.helpers import NOW, SURVEY_ID


def _count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_delivered_events_are_purged_after_their_retention_and_waiting_ones_kept(seeded: Any) -> None:
    subscriptions.create_subscription(db.session, {"url": "https://h.example.com/", "events": ["link.opened"]}, NOW)
    for _ in range(2):
        events.record(db.session, "link.opened", survey_id=SURVEY_ID, contact_id=None, link_id=None, at=NOW)
    db.session.commit()
    fan_out(db.session, NOW, timedelta(hours=24))
    first = db.session.scalars(select(EventDelivery).order_by(EventDelivery.id)).first()
    first.status, first.last_attempt_at = "delivered", NOW
    db.session.commit()
    assert purge_events(db.session, NOW + timedelta(days=29), 30) == {"eventDeliveries": 0, "events": 0}
    assert purge_events(db.session, NOW + timedelta(days=31), 30) == {"eventDeliveries": 1, "events": 1}
    db.session.commit()
    assert (_count(EventDelivery), _count(OutboxEvent)) == (1, 1)  # the waiting one stays


def test_the_events_job_keeps_only_its_newest_runs(app: Flask, monkeypatch: Any) -> None:
    monkeypatch.setitem(tasks.JOBS, "events", tasks.Job("events", "EVENTS_INTERVAL_SECONDS", tasks.events_job,
                                                        keep_runs=3))
    for _ in range(5):
        assert run_job(app, "events", trigger="cli").status == "succeeded"
    assert db.session.scalar(select(func.count()).select_from(JobRun).where(JobRun.job == "events")) == 3
