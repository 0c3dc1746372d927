"""Outbound events of anonymous surveys: the completion reaches every subscriber of its day, and nothing stored
about it (the outbox row, its deliveries, the delivery log) is finer than a day; switching a survey to anonymous
takes the same times from what it had stored before."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from plugin.clock import FrozenClock
from plugin.db import db
from plugin.models import Contact, EventDelivery, OutboxEvent, Survey
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from plugin.state import state
from tests.helpers import SURVEY_ID
from tests.plugin.events_support import POLICY, Receiver, drain_now, real_time, running_receiver, subscribe
from tests.webhooks.support import SECRET, response_body, signed, token_of
from webhooks.models import InboxDelivery

pytestmark = pytest.mark.settings(WEBHOOK_SECRETS=SECRET)
SURVEY = f"/api/personal-links/v1/surveys/{SURVEY_ID}"


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    """A receiver over real HTTP, and the app's clock at the real time (the library checks timestamps)."""
    real_time(app)
    with running_receiver() as running:
        yield running


@pytest.fixture
def links(seeded: dict[str, Any], receiver: Receiver) -> dict[str, int]:
    """A link to survey-1 for each of c1..c4, issued at the real time, by contact id."""
    now = state().clock.now()
    issue_links(db.session, db.session.get(Survey, SURVEY_ID), sa.select(Contact.id), IssueOptions(), now, "test")
    db.session.commit()
    rows = db.session.execute(sa.text("SELECT c.host_id, l.id FROM links l JOIN contacts c ON c.id = l.contact_id"))
    return {host_id: link_id for host_id, link_id in rows}


def clock() -> FrozenClock:
    return state().clock  # type: ignore[return-value]


def deliver(client: FlaskClient, response_id: str, value: str, *, finished: bool = True,
            at: datetime | None = None) -> dict[str, Any]:
    at = at or clock().now()
    body = response_body("responseFinished" if finished else "responseCreated", response_id, value,
                         finished=finished, created=at - timedelta(minutes=3, seconds=7), updated=at)
    answer = client.post("/webhooks/formbricks", data=body, headers=signed(body, at=clock().now()))
    assert answer.status_code == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


def answer_anonymously(client: FlaskClient, link_id: int, response_id: str) -> None:
    """Open the link (a ticket in the hidden field), then the host's finished response carrying that ticket."""
    location = client.get(f"/c/{token_of(link_id)}").headers["Location"]
    ticket = parse_qs(urlsplit(location).query)["plink"][0]
    assert deliver(client, response_id, ticket)["outcome"] == "completed"


def make_anonymous(client: FlaskClient, headers: dict[str, str]) -> None:
    answer = client.put(SURVEY, headers=headers, json={"anonymous": True, "eraseAttributions": True})
    assert answer.status_code == 200, answer.json


def moments(model: Any) -> list[tuple[str, datetime]]:
    """Every time stored in the table's rows, by column name."""
    db.session.expire_all()
    table = model.__table__
    found = []
    for row in db.session.execute(sa.select(table)).mappings():
        found += [(name, value) for name, value in row.items() if isinstance(value, datetime)]
    return found


def finer_than_a_day(found: list[tuple[str, datetime]]) -> list[tuple[str, datetime]]:
    return [(name, value) for name, value in found if value.astimezone(UTC).time() != time(0)]


def test_an_anonymous_completion_reaches_a_subscription_made_the_same_day(
        client: FlaskClient, api_headers: dict[str, str], links: dict[str, int], receiver: Receiver) -> None:
    make_anonymous(client, api_headers)
    subscribe(receiver, "same-day", ["response.completed"])  # now; the completion's time is this day's midnight
    clock().advance(seconds=5)
    answer_anonymously(client, links["c1"], "r-1")
    counts = drain_now()
    assert counts["fannedOut"] == 1 and counts["delivered"] == 1
    [event] = [item.body for item in receiver.received]
    assert event["type"] == "response.completed" and event["data"]["anonymous"] is True
    assert event["timestamp"].endswith("T00:00:00.000Z")


def test_an_anonymous_completion_never_reaches_a_subscription_made_a_day_after(
        client: FlaskClient, api_headers: dict[str, str], links: dict[str, int], receiver: Receiver) -> None:
    make_anonymous(client, api_headers)
    clock().advance(days=-1)
    subscribe(receiver, "before", ["response.completed"])
    answer_anonymously(client, links["c1"], "r-1")
    clock().advance(days=1)
    subscribe(receiver, "after", ["response.completed"])
    assert drain_now()["fannedOut"] == 1
    assert receiver.ids("after") == [] and len(receiver.ids("before")) == 1


def test_an_anonymous_completion_and_its_deliveries_keep_only_days(
        client: FlaskClient, api_headers: dict[str, str], links: dict[str, int], receiver: Receiver) -> None:
    make_anonymous(client, api_headers)
    clock().advance(days=-1)
    for hook in ("one", "two", "three"):
        subscribe(receiver, hook, ["response.completed"])
    clock().advance(days=1)
    answer_anonymously(client, links["c1"], "r-1")
    receiver.answers = [200, 503, 503]  # one taken, two refused
    short = replace(POLICY, retry_window=timedelta(minutes=1))
    assert drain_now(short) == {"fannedOut": 3, "delivered": 1, "failed": 2, "dead": 0}

    [event] = db.session.scalars(sa.select(OutboxEvent)).all()
    assert event.fanned_at is not None and event.at.time() == time(0)
    assert finer_than_a_day(moments(OutboxEvent)) == []
    # the refused ones wait for their next attempt (the backoff needs its time); nothing else of them is finer
    assert finer_than_a_day([item for item in moments(EventDelivery) if item[0] != "next_attempt_at"]) == []
    delivered = db.session.scalars(sa.select(EventDelivery).where(EventDelivery.status == "delivered")).one()
    assert delivered.next_attempt_at.time() == time(0) and delivered.delivered_at.time() == time(0)

    clock().advance(seconds=10)  # their backoff
    receiver.answers = [200, 503]
    assert drain_now(short) == {"fannedOut": 0, "delivered": 1, "failed": 1, "dead": 0}
    clock().advance(days=1)  # past the retry window, which for a day-stamped delivery ends with a day
    assert drain_now(short)["dead"] == 1
    statuses = sorted(db.session.scalars(sa.select(EventDelivery.status)))
    assert statuses == ["dead", "delivered", "delivered"]
    assert finer_than_a_day(moments(EventDelivery)) == []
    log = client.get("/api/personal-links/v1/events/deliveries", headers=api_headers).json["data"]
    assert len(log) == 3 and all(entry["lastAttemptAt"].endswith("T00:00:00.000Z") for entry in log)


def test_switching_to_anonymous_takes_the_exact_times_and_the_responses_from_stored_deliveries(
        client: FlaskClient, api_headers: dict[str, str], links: dict[str, int], receiver: Receiver) -> None:
    subscribe(receiver, "all")
    client.get(f"/c/{token_of(links['c1'])}")
    clock().advance(seconds=49)  # within the receiver's tolerance of the real time
    deliver(client, "r-before", token_of(links["c1"]), finished=False)
    clock().advance(seconds=23)
    deliver(client, "r-before", token_of(links["c1"]))
    drain_now()
    kinds = {item.body["type"] for item in receiver.received}
    assert {"link.opened", "response.started", "response.completed"} <= kinds
    assert finer_than_a_day(moments(InboxDelivery)) != []

    make_anonymous(client, api_headers)

    assert set(db.session.scalars(sa.select(InboxDelivery.body))) == {""}
    assert finer_than_a_day(moments(InboxDelivery)) == []
    # the events that named the response or the open, and their delivery log, are gone; the admin's stay
    left = set(db.session.scalars(sa.select(OutboxEvent.kind)))
    assert not left & {"link.opened", "response.started", "response.completed", "response.duplicate"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EventDelivery)) == len(left)
    assert "r-before" not in repr(db.session.execute(sa.select(OutboxEvent.data)).all())
