"""Reminder batches: the due contacts claimed, returned with links, confirmed or released, timed out by the job;
the cadence on the non-respondents listing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.clock import FrozenClock, iso
from plugin.db import db
from plugin.jobs.tasks import JOBS
from plugin.models import Contact, ContactMade, Link, OutboxEvent, Survey
from plugin.services.events import subscriptions
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from tests.helpers import NOW
from tests.plugin.test_followup import respond

API = "/api/personal-links/v1"
BATCHES = f"{API}/surveys/survey-1/reminder-batches"


@pytest.fixture
def issued(seeded: dict[str, Any]) -> dict[str, int]:
    """Links to survey-1 for c1..c4; link ids by contact."""
    issue_links(db.session, db.session.get(Survey, "survey-1"), select(Contact.id), IssueOptions(), NOW, "t")
    db.session.commit()
    return dict(db.session.execute(select(Contact.host_id, Link.id).join(Link)).all())


def contacted(client: FlaskClient, headers: dict[str, str], contact: str, kind: str, hours_ago: int) -> None:
    at = (NOW - timedelta(hours=hours_ago)).isoformat()
    answer = client.post(f"{API}/contacts-made", headers=headers, json={"contacts": [
        {"contactId": contact, "surveyId": "survey-1", "kind": kind, "channel": "email", "sentAt": at}]})
    assert answer.status_code == 201, answer.json


def create(client: FlaskClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = client.post(BATCHES, json=body, headers=headers)
    assert answer.status_code == 201, answer.json
    return dict(answer.json["data"])


def ids(batch: dict[str, Any]) -> list[str]:
    return [row["contactId"] for row in batch["contacts"]]


def test_a_batch_returns_the_due_contacts_with_their_links(client: FlaskClient, api_headers: dict[str, str],
                                                            issued: dict[str, int]) -> None:
    batch = create(client, api_headers, limit=3, channel="sms")
    assert ids(batch) == ["c1", "c2", "c3"] and batch["status"] == "open" and batch["channel"] == "sms"
    assert batch["contacts"][0]["surveyUrl"].startswith("https://links.example.com/c/")
    assert batch["contacts"][0]["linkId"] == issued["c1"] and batch["contacts"][0]["status"] == "pending"
    assert batch["expiresAt"] == iso(NOW + timedelta(minutes=30))
    assert ids(create(client, api_headers)) == ["c4"]  # the first batch holds c1..c3
    assert ids(create(client, api_headers)) == []


def test_the_cadence_decides_who_is_due(client: FlaskClient, api_headers: dict[str, str],
                                        issued: dict[str, int]) -> None:
    contacted(client, api_headers, "c1", "invitation", 10)  # too recent for a 24 h gap
    contacted(client, api_headers, "c2", "invitation", 48)
    contacted(client, api_headers, "c2", "reminder", 30)
    contacted(client, api_headers, "c3", "reminder", 100)
    contacted(client, api_headers, "c3", "reminder", 90)  # two reminders already
    listed = client.get(f"{API}/surveys/survey-1/non-respondents?minGapHours=24&maxReminders=2",
                        headers=api_headers).json["data"]
    assert [row["contactId"] for row in listed] == ["c2", "c4"]
    assert [(row["remindersSent"], row["lastContactedAt"]) for row in listed] == [
        (1, iso(NOW - timedelta(hours=30))), (0, None)]
    assert ids(create(client, api_headers, minGapHours=24, maxReminders=2)) == ["c2", "c4"]


def test_non_respondents_carry_the_history_in_json_and_csv(client: FlaskClient, api_headers: dict[str, str],
                                                           issued: dict[str, int]) -> None:
    contacted(client, api_headers, "c1", "reminder", 5)
    row = client.get(f"{API}/surveys/survey-1/non-respondents", headers=api_headers).json["data"][0]
    assert row["remindersSent"] == 1 and row["lastContactedAt"].startswith("2026-11-28T07:00:00")
    text = client.get(f"{API}/surveys/survey-1/non-respondents.csv", headers=api_headers).get_data(as_text=True)
    header, first = text.splitlines()[:2]
    assert header.endswith("Reminders Sent,Last Contacted At") and ",1,2026-11-28T07:00:00" in first


def test_those_who_answered_are_never_due(client: FlaskClient, api_headers: dict[str, str],
                                          issued: dict[str, int]) -> None:
    respond(issued["c2"], "r2", finished=True)
    respond(issued["c3"], "r3", finished=False)  # started, not finished: still due
    assert ids(create(client, api_headers)) == ["c1", "c3", "c4"]


def test_stopped_only_and_segment(client: FlaskClient, api_headers: dict[str, str], issued: dict[str, int]) -> None:
    respond(issued["c3"], "r3", finished=False)
    assert ids(create(client, api_headers, stopped=True)) == ["c3"]
    assert ids(create(client, api_headers, segment="beta")) == ["c1", "c4"]


def test_confirm_makes_contacts_made_and_the_gap_applies(client: FlaskClient, api_headers: dict[str, str],
                                                          issued: dict[str, int]) -> None:
    batch = create(client, api_headers, limit=2)
    answer = client.post(f"{BATCHES}/{batch['id']}/confirm", headers=api_headers)
    assert answer.status_code == 200 and answer.json["data"]["status"] == "confirmed"
    assert answer.json["data"]["counts"] == {"pending": 0, "sent": 2, "failed": 0}
    assert [row["remindersSent"] for row in answer.json["data"]["contacts"]] == [1, 1]
    assert ids(create(client, api_headers, minGapHours=1)) == ["c3", "c4"]
    again = client.post(f"{BATCHES}/{batch['id']}/confirm", headers=api_headers)
    assert again.status_code == 200 and again.json["data"]["counts"]["sent"] == 2


def test_confirm_per_contact_releases_the_failed_sends(client: FlaskClient, api_headers: dict[str, str],
                                                       issued: dict[str, int]) -> None:
    batch = create(client, api_headers, limit=3)
    answer = client.post(f"{BATCHES}/{batch['id']}/confirm", json={"sent": ["c2"]}, headers=api_headers)
    statuses = {row["contactId"]: row["status"] for row in answer.json["data"]["contacts"]}
    assert statuses == {"c1": "failed", "c2": "sent", "c3": "failed"}
    assert ids(create(client, api_headers, minGapHours=1)) == ["c1", "c3", "c4"]


def test_confirm_refuses_a_contact_outside_the_batch(client: FlaskClient, api_headers: dict[str, str],
                                                      issued: dict[str, int]) -> None:
    batch = create(client, api_headers, limit=1)
    for body in ({"sent": ["c4"]}, {"sent": "c1"}, {"sent": [1]}):
        answer = client.post(f"{BATCHES}/{batch['id']}/confirm", json=body, headers=api_headers)
        assert answer.status_code == 422 and answer.json["error"]["details"][0]["field"] == "sent"
    shown = client.get(f"{BATCHES}/{batch['id']}", headers=api_headers).json["data"]
    assert shown["status"] == "open"


def test_release_makes_the_contacts_due_again(client: FlaskClient, api_headers: dict[str, str],
                                              issued: dict[str, int]) -> None:
    batch = create(client, api_headers, limit=2)
    answer = client.post(f"{BATCHES}/{batch['id']}/release", headers=api_headers)
    assert answer.json["data"]["status"] == "released"
    assert answer.json["data"]["counts"] == {"pending": 0, "sent": 0, "failed": 2}
    assert ids(create(client, api_headers, minGapHours=1, maxReminders=1)) == ["c1", "c2", "c3", "c4"]
    refused = client.post(f"{BATCHES}/{batch['id']}/confirm", headers=api_headers)
    assert refused.status_code == 409 and "due again" in refused.json["error"]["detail"]


def test_a_confirmed_batch_cannot_be_released(client: FlaskClient, api_headers: dict[str, str],
                                              issued: dict[str, int]) -> None:
    batch = create(client, api_headers, limit=1)
    client.post(f"{BATCHES}/{batch['id']}/confirm", headers=api_headers)
    refused = client.post(f"{BATCHES}/{batch['id']}/release", headers=api_headers)
    assert refused.status_code == 409 and refused.json["error"]["details"][0]["issue"] == "already confirmed"


@pytest.mark.settings(REMINDER_BATCH_TIMEOUT_MINUTES=30)
def test_the_job_releases_a_batch_not_confirmed_in_time(app: Flask, client: FlaskClient, clock: FrozenClock,
                                                        api_headers: dict[str, str], issued: dict[str, int]) -> None:
    batch = create(client, api_headers, limit=2)
    job = JOBS["reminders"].function
    assert job(db.session, NOW + timedelta(minutes=29), app.config)["batches"] == 0
    db.session.commit()
    counts = job(db.session, NOW + timedelta(minutes=30), app.config)
    db.session.commit()
    assert counts == {"batches": 1, "contacts": 2, "idempotencyKeys": 0}
    shown = client.get(f"{BATCHES}/{batch['id']}", headers=api_headers).json["data"]
    assert shown["status"] == "expired" and shown["counts"]["failed"] == 2
    assert job(db.session, NOW + timedelta(minutes=31), app.config)["batches"] == 0  # safe to run twice
    clock.advance(minutes=31)
    assert ids(create(client, api_headers)) == ["c1", "c2", "c3", "c4"]
    late = client.post(f"{BATCHES}/{batch['id']}/confirm", headers=api_headers)
    assert late.status_code == 409 and "time ran out" in late.json["error"]["detail"]


def test_the_job_forgets_idempotency_keys_after_a_day(app: Flask, client: FlaskClient,
                                                      api_headers: dict[str, str], issued: dict[str, int]) -> None:
    client.post(BATCHES, json={}, headers={**api_headers, "Idempotency-Key": "k"})
    job = JOBS["reminders"].function
    assert job(db.session, NOW + timedelta(hours=23), app.config)["idempotencyKeys"] == 0
    assert job(db.session, NOW + timedelta(hours=25), app.config)["idempotencyKeys"] == 1


def test_a_retried_create_with_its_key_claims_nothing_more(client: FlaskClient, api_headers: dict[str, str],
                                                           issued: dict[str, int]) -> None:
    headers = {**api_headers, "Idempotency-Key": "batch-1"}
    first = client.post(BATCHES, json={"limit": 2}, headers=headers)
    again = client.post(BATCHES, json={"limit": 2}, headers=headers)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(ContactMade.id).where(ContactMade.contact_id == 3)) is None


@pytest.mark.parametrize("body, field", [
    ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"limit": "5"}, "limit"), ({"limit": True}, "limit"),
    ({"minGapHours": -1}, "minGapHours"), ({"minGapHours": 1.5}, "minGapHours"),
    ({"minGapHours": "99999999999999999999"}, "minGapHours"), ({"maxReminders": 101}, "maxReminders"),
    ({"stopped": "maybe"}, "stopped"), ({"channel": "E mail"}, "channel"), ({"segment": 5}, "segment"),
    ({"limits": 5}, "limits"),
])
def test_bad_batch_parameters_are_422(client: FlaskClient, api_headers: dict[str, str], issued: dict[str, int],
                                      body: dict[str, Any], field: str) -> None:
    answer = client.post(BATCHES, json=body, headers=api_headers)
    assert answer.status_code == 422 and answer.json["error"]["details"][0]["field"] == field
    assert db.session.scalar(select(ContactMade.id)) is None


@pytest.mark.parametrize("query, field", [("minGapHours=x", "minGapHours"), ("maxReminders=-2", "maxReminders"),
                                          ("minGapHours=1e3", "minGapHours")])
def test_bad_cadence_on_the_listing_is_422(client: FlaskClient, api_headers: dict[str, str], issued: dict[str, int],
                                           query: str, field: str) -> None:
    answer = client.get(f"{API}/surveys/survey-1/non-respondents?{query}", headers=api_headers)
    assert answer.status_code == 422 and answer.json["error"]["details"][0]["field"] == field


def test_unknown_surveys_segments_and_batches_are_404(client: FlaskClient, api_headers: dict[str, str],
                                                      issued: dict[str, int]) -> None:
    assert client.post(f"{API}/surveys/nope/reminder-batches", json={}, headers=api_headers).status_code == 404
    answer = client.post(BATCHES, json={"segment": "nope"}, headers=api_headers)
    assert answer.status_code == 404 and answer.json["error"]["details"][0]["field"] == "segment"
    batch = create(client, api_headers, limit=1)
    for path in ("999", "abc", "99999999999999999999", f"{batch['id']}x"):
        for suffix, method in (("", "get"), ("/confirm", "post"), ("/release", "post")):
            answer = getattr(client, method)(f"{BATCHES}/{path}{suffix}", headers=api_headers)
            assert answer.status_code == 404 and answer.json["error"]["details"][0]["field"] == "batchId"
    other = client.get(f"{API}/surveys/nope/reminder-batches/{batch['id']}", headers=api_headers)
    assert other.status_code == 404


def test_the_cli_creates_confirms_and_releases_batches(run: Callable[..., Result], issued: dict[str, int]) -> None:
    created = run("reminders", "create", "--survey", "survey-1", "--limit", "2")
    assert created.exit_code == 0, created.output
    assert "c1" in created.output and "https://links.example.com/c/" in created.output
    batch_id = db.session.scalar(select(ContactMade.batch_id))
    confirmed = run("reminders", "confirm", str(batch_id), "--sent", "c1")
    assert confirmed.exit_code == 0 and "confirmed (pending 0, sent 1, failed 1)" in confirmed.output
    second = run("reminders", "create", "--survey", "survey-1", "--min-gap-hours", "1")
    other = db.session.scalar(select(ContactMade.batch_id).where(ContactMade.batch_id != batch_id))
    assert second.exit_code == 0 and "c1," not in second.output
    released = run("reminders", "release", str(other))
    assert released.exit_code == 0 and "released" in released.output
    refused = run("reminders", "release", str(batch_id))
    assert refused.exit_code == 1 and "cannot be released" in refused.output
    assert run("reminders", "show", "12345").exit_code == 1
    assert run("reminders", "create", "--survey", "survey-1", "--max-reminders", "x").exit_code == 1


def test_a_new_batch_is_an_event_in_its_own_transaction(client: FlaskClient, api_headers: dict[str, str],
                                                        issued: dict[str, int]) -> None:
    subscriptions.create_subscription(db.session, {"url": "https://hooks.example.com/x",
                                                   "events": ["reminder.batch.created"]}, NOW)
    db.session.commit()
    batch = create(client, api_headers, limit=2, channel="sms")
    db.session.expire_all()
    (event,) = db.session.scalars(select(OutboxEvent)).all()
    assert (event.kind, event.survey_id, event.contact_id, event.link_id) == ("reminder.batch.created", "survey-1",
                                                                               None, None)
    assert event.data == {"batchId": batch["id"], "contacts": 2, "channel": "sms", "expiresAt": batch["expiresAt"]}
