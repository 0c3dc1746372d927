"""Outbound events over real HTTP: every kind arrives, verified by the Standard Webhooks reference library;
retries with backoff, dead after the window, redeliver; redirects, timeouts, endless answers; leases."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.db import db
from plugin.models import Contact, EventDelivery
from plugin.services.events import events, subscriptions
from plugin.state import state
from tests.helpers import SURVEY_ID
from tests.plugin.events_support import POLICY, Receiver, drain_now, real_time, running_receiver, subscribe
from tests.webhooks.support import SECRET, response_body, signed

ISSUE = f"/api/v2/management/surveys/{SURVEY_ID}/contact-links/contacts"


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    """A receiver over real HTTP, and the app's clock at the real time (the library checks timestamps)."""
    real_time(app)
    with running_receiver() as running:
        yield running


def _deliveries(**where: Any) -> list[EventDelivery]:
    db.session.expire_all()
    query = select(EventDelivery).order_by(EventDelivery.id)
    for name, value in where.items():
        query = query.where(getattr(EventDelivery, name) == value)
    return list(db.session.scalars(query))


def _respond(client: FlaskClient, response_id: str, token: str, finished: bool) -> None:
    body = response_body("responseFinished" if finished else "responseCreated", response_id, token,
                         finished=finished, created=state().clock.now())
    answer = client.post("/webhooks/formbricks", data=body, headers=signed(body, at=state().clock.now()))
    assert answer.status_code == 200, answer.json


@pytest.mark.settings(WEBHOOK_SECRETS=SECRET)
def test_every_kind_arrives_signed_as_the_reference_library_verifies_and_never_names_a_token(
        client: FlaskClient, api_headers: dict[str, str], seeded: dict[str, Any], receiver: Receiver) -> None:
    subscribe(receiver, "all")
    issued = client.get(f"{ISSUE}/c1", headers=api_headers).json["data"]
    url, link_id = issued["surveyUrl"], issued["linkId"]
    token = url.rsplit("/", 1)[1]
    assert client.get(urlsplit(url).path).status_code == 302
    _respond(client, "r1", token, finished=False)
    _respond(client, "r1", token, finished=True)
    _respond(client, "r2", token, finished=True)  # the link's one use is spent: a duplicate
    assert client.post(f"/api/personal-links/v1/links/{link_id}/revoke", headers=api_headers).status_code == 200
    contact = db.session.scalar(select(Contact.id).where(Contact.host_id == "c1"))
    now = state().clock.now()
    events.record(db.session, "contact.suppressed", survey_id=None, contact_id=contact, link_id=None, at=now,
                  data={"reason": "bounced"})
    events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID, contact_id=None, link_id=None, at=now,
                  data={"count": 3})
    db.session.commit()

    counts = drain_now()

    assert receiver.rejected == []
    kinds = Counter(item.body["type"] for item in receiver.received)
    assert kinds == {"link.issued": 1, "link.opened": 1, "response.started": 2, "response.completed": 1,
                     "response.duplicate": 1, "link.revoked": 1, "contact.suppressed": 1,
                     "reminder.batch.created": 1}  # r1 and r2 each started through the link
    assert counts["delivered"] == 9
    for item in receiver.received:
        assert item.webhook_id == item.body["id"] and item.webhook_id.startswith("evt_")
        assert item.body["timestamp"].endswith("Z")
        assert token not in str(item.body) and token.split(".")[-1] not in str(item.body)
        if item.body["type"].startswith(("link.", "response.")):
            assert item.body["data"]["surveyId"] == SURVEY_ID
            assert item.body["data"]["contactId"] == "c1" and item.body["data"]["linkId"] == link_id
    by_kind = {item.body["type"]: item.body["data"] for item in receiver.received}
    assert {item.body["data"]["responseId"] for item in receiver.received
            if item.body["type"] == "response.started"} == {"r1", "r2"}
    assert by_kind["response.completed"]["responseId"] == "r1"
    assert by_kind["response.completed"]["status"] == "attributed"
    assert by_kind["response.duplicate"]["responseId"] == "r2"
    assert by_kind["contact.suppressed"] == {"surveyId": None, "contactId": "c1", "linkId": None,
                                             "reason": "bounced"}
    assert by_kind["reminder.batch.created"]["count"] == 3
    assert {row.status for row in _deliveries()} == {"delivered"}


def test_a_failed_delivery_waits_its_backoff_then_arrives_again_with_the_same_id(seeded: Any,
                                                                                 receiver: Receiver) -> None:
    subscribe(receiver, "flaky", ["reminder.batch.created"])
    events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID, contact_id=None, link_id=None,
                  at=state().clock.now())
    db.session.commit()
    receiver.answers = [503]

    assert drain_now()["failed"] == 1
    (row,) = _deliveries()
    assert (row.status, row.attempts, row.last_status) == ("failed", 1, 503)
    assert row.next_attempt_at == state().clock.now() + timedelta(seconds=10)  # 10 s, jitter at its top
    assert drain_now()["delivered"] == 0  # not due yet
    state().clock.advance(seconds=10)  # type: ignore[attr-defined]
    assert drain_now()["delivered"] == 1
    first, second = receiver.ids()
    assert first == second
    assert _deliveries()[0].status == "delivered"


def test_past_its_retry_window_a_delivery_is_dead_and_redeliver_sends_it_again(
        app: Flask, client: FlaskClient, api_headers: dict[str, str], seeded: Any, receiver: Receiver) -> None:
    subscribe(receiver, "down", ["reminder.batch.created"])
    events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID, contact_id=None, link_id=None,
                  at=state().clock.now())
    db.session.commit()
    receiver.answers = [500] * 100
    policy = replace(POLICY, retry_window=timedelta(minutes=5))
    statuses = []
    for _ in range(10):
        drain_now(policy)
        statuses.append(_deliveries()[0].status)
        state().clock.advance(minutes=1)  # type: ignore[attr-defined]
    assert statuses[0] == "failed" and statuses[-1] == "dead"
    attempts = _deliveries()[0].attempts
    assert 3 <= attempts <= 6  # 10 s, 20 s, 40 s, 80 s ... inside five minutes

    receiver.answers = []
    real_time(app)  # back from ten minutes ahead: the reference library refuses a timestamp from the future
    (row,) = _deliveries()
    answer = client.post(f"/api/personal-links/v1/events/deliveries/{row.id}/redeliver", headers=api_headers)
    assert answer.status_code == 200 and answer.json["data"]["status"] == "pending"
    assert drain_now(policy)["delivered"] == 1
    assert len(set(receiver.ids())) == 1


def test_a_redirect_is_not_followed(seeded: Any, receiver: Receiver) -> None:
    subscribe(receiver, "moved", ["reminder.batch.created"])
    receiver.secrets["elsewhere"] = receiver.secrets["moved"]
    events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID, contact_id=None, link_id=None,
                  at=state().clock.now())
    db.session.commit()
    receiver.answers = [302]
    drain_now()
    (row,) = _deliveries()
    assert (row.status, row.last_status) == ("failed", 302)
    assert "redirect" in row.last_error
    assert receiver.ids("elsewhere") == []


def test_a_receiver_that_never_answers_costs_one_timeout(seeded: Any, receiver: Receiver) -> None:
    subscribe(receiver, "slow", ["reminder.batch.created"])
    events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID, contact_id=None, link_id=None,
                  at=state().clock.now())
    db.session.commit()
    receiver.hold = threading.Event()
    try:
        started = time.monotonic()
        drain_now(replace(POLICY, timeout=0.5))
        took = time.monotonic() - started
    finally:
        receiver.hold.set()
    (row,) = _deliveries()
    assert row.status == "failed" and row.last_error == "no answer within 0.5 s"
    assert took < 3


def test_an_answer_that_never_ends_is_read_only_so_far(seeded: Any, receiver: Receiver) -> None:
    subscribe(receiver, "endless", ["reminder.batch.created"])
    events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID, contact_id=None, link_id=None,
                  at=state().clock.now())
    db.session.commit()
    receiver.extra["endless"] = True
    started = time.monotonic()
    assert drain_now()["delivered"] == 1
    assert time.monotonic() - started < 5


def test_a_paused_subscription_gets_nothing_until_resumed(seeded: Any, receiver: Receiver) -> None:
    subscription = subscribe(receiver, "paused", ["reminder.batch.created"])
    events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID, contact_id=None, link_id=None,
                  at=state().clock.now())
    db.session.commit()
    drain_now(replace(POLICY, limit=0))  # fanned out, nothing sent
    subscriptions.set_paused(db.session, subscription, True, state().clock.now())
    db.session.commit()
    assert events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID, contact_id=None,
                         link_id=None, at=state().clock.now()) is None  # nobody active wants it: not written
    drain_now()
    assert receiver.ids() == []
    subscriptions.set_paused(db.session, subscription, False, state().clock.now())
    db.session.commit()
    assert drain_now()["delivered"] == 1
    assert len(receiver.ids()) == 1


def test_two_senders_at_once_send_each_delivery_once(app: Flask, seeded: Any, receiver: Receiver) -> None:
    subscribe(receiver, "busy", ["reminder.batch.created"])
    for number in range(12):
        events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID, contact_id=None, link_id=None,
                      at=state().clock.now(), data={"number": number})
    db.session.commit()
    receiver.extra["delay"] = 0.02
    errors: list[BaseException] = []

    def sender(name: str) -> None:
        try:
            with app.app_context():
                drain_now(holder=name)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(f"sender-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ids = receiver.ids()
    assert len(ids) == 12 and len(set(ids)) == 12
    assert db.session.scalar(select(func.count()).select_from(EventDelivery)
                             .where(EventDelivery.status == "delivered")) == 12
