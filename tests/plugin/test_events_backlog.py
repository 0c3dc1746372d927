"""The outbound backlog: one log line when the drains fall behind, none while it lasts, one when they catch up,
for the whole cluster; and the backlog as gauges on /metrics."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin import create_app
from plugin.db import db
from plugin.services.events import delivery_backlog, events
from plugin.state import state
from tests.helpers import SURVEY_ID, base_config
from tests.metrics_support import FOLDER, parse, total
from tests.plugin.events_support import POLICY, Receiver, drain_now, real_time, running_receiver, subscribe

TOKEN = "scrape-token-0123456789"
BEHIND = "outbound events are behind"
CAUGHT_UP = "outbound events caught up"


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    real_time(app)
    with running_receiver() as running:
        yield running


def _backlog(count: int) -> None:
    """``count`` opens fanned out now and due; then the clock 20 s on (the default ``behind_after`` is 5 s)."""
    now = state().clock.now()
    events.record_each(db.session.connection(), "link.opened", [(SURVEY_ID, None, None, now)] * count)  # type: ignore[list-item]
    db.session.commit()
    drain_now(replace(POLICY, limit=0))
    state().clock.advance(seconds=20)  # type: ignore[attr-defined]


def _lines(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage().startswith(text)]


def test_one_line_when_the_drains_fall_behind_none_while_behind_one_when_caught_up(
        seeded: object, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    subscribe(receiver, "b", ["link.opened"])
    _backlog(30)
    caplog.set_level(logging.INFO, logger="plugin.services.events.delivery_backlog")

    for _ in range(3):  # a backlog lasting three runs
        drain_now(replace(POLICY, limit=5))
    (behind,) = _lines(caplog, BEHIND)
    assert behind.levelno == logging.WARNING
    assert "15 deliveries due" not in behind.getMessage() and "25 deliveries due" in behind.getMessage()
    assert "oldest waiting 20 s" in behind.getMessage()
    assert _lines(caplog, CAUGHT_UP) == []

    state().clock.advance(seconds=40)  # type: ignore[attr-defined]
    drain_now()  # the rest sent: caught up
    drain_now()
    (caught_up,) = _lines(caplog, CAUGHT_UP)
    assert caught_up.levelno == logging.INFO and "after 40 s behind" in caught_up.getMessage()
    assert len(_lines(caplog, BEHIND)) == 1


def test_another_process_seeing_the_same_backlog_logs_nothing_more(
        database_url: str, seeded: object, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    subscribe(receiver, "b", ["link.opened"])
    _backlog(3)
    caplog.set_level(logging.INFO, logger="plugin.services.events.delivery_backlog")
    now = state().clock.now()
    other = create_app(base_config(database_url))  # another instance: its own engine and connections
    for _ in range(2):
        delivery_backlog.observe(db.session, now, POLICY.behind_after)
        with other.app_context():
            delivery_backlog.observe(db.session, now, POLICY.behind_after)
            db.session.remove()
    assert len(_lines(caplog, BEHIND)) == 1
    drain_now()
    with other.app_context():
        delivery_backlog.observe(db.session, state().clock.now(), POLICY.behind_after)
        db.session.remove()
        db.engine.dispose()
    drain_now()
    assert len(_lines(caplog, CAUGHT_UP)) == 1


def test_paused_subscriptions_and_failed_deliveries_waiting_their_backoff_are_not_a_backlog(
        seeded: object, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    from plugin.services.events import subscriptions

    paused = subscribe(receiver, "paused", ["link.opened"])
    subscribe(receiver, "down", ["link.opened"])
    _backlog(2)
    subscriptions.set_paused(db.session, paused, True, state().clock.now())
    db.session.commit()
    receiver.answers = [503, 503]  # the two deliveries to "down" fail: retried in 10 s
    caplog.set_level(logging.INFO, logger="plugin.services.events.delivery_backlog")
    drain_now()
    assert delivery_backlog.measure(db.session, state().clock.now()) == delivery_backlog.Backlog(0, 0.0)
    assert _lines(caplog, BEHIND) == []


@pytest.mark.settings(METRICS="on", METRICS_TOKEN=TOKEN, METRICS_DIR=FOLDER)
def test_the_backlog_and_the_attempts_are_on_the_metrics_page(seeded: object, receiver: Receiver,
                                                               client: FlaskClient) -> None:
    subscribe(receiver, "m", ["link.opened"])
    _backlog(12)
    receiver.answers = [500]
    drain_now(replace(POLICY, limit=4, senders=1))

    samples = parse(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True))
    assert total(samples, "personal_links_event_backlog_deliveries") == 8
    assert total(samples, "personal_links_event_backlog_oldest_seconds") == 20
    assert total(samples, "personal_links_event_deliveries_total", outcome="failed") >= 1
    assert total(samples, "personal_links_event_deliveries_total", outcome="delivered") >= 3
