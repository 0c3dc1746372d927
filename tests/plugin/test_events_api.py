"""Event subscriptions and the delivery log through the admin API and the CLI: the secret once, precise 4xx."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import Result
from flask.testing import FlaskClient

from plugin.db import db
from plugin.services.events import events
from plugin.services.events.delivery import fan_out
from plugin.state import state
from tests.helpers import NOW, SURVEY_ID
from webhooks.signature import parse_secret

BASE = "/api/personal-links/v1/events"
GOOD = {"url": "https://hooks.example.com/links?team=1", "events": ["link.opened", "response.completed"]}


def _create(client: FlaskClient, headers: dict[str, str], body: Any = None) -> Any:
    return client.post(f"{BASE}/subscriptions", json=GOOD if body is None else body, headers=headers)


def test_the_secret_is_shown_once_and_signs_as_standard_webhooks(client: FlaskClient,
                                                                 api_headers: dict[str, str]) -> None:
    answer = _create(client, api_headers)
    assert answer.status_code == 201
    data = answer.json["data"]
    assert data["secret"].startswith("whsec_") and len(parse_secret(data["secret"])) == 32
    assert (data["url"], data["events"], data["status"]) == (GOOD["url"], GOOD["events"], "active")
    listed = client.get(f"{BASE}/subscriptions", headers=api_headers).json["data"]
    one = client.get(f"{BASE}/subscriptions/{data['id']}", headers=api_headers).json["data"]
    assert [item["id"] for item in listed] == [data["id"]]
    assert "secret" not in listed[0] and "secret" not in one and data["secret"] not in str(listed)


def test_pause_resume_and_delete(client: FlaskClient, api_headers: dict[str, str]) -> None:
    subscription = _create(client, api_headers).json["data"]["id"]
    paused = client.post(f"{BASE}/subscriptions/{subscription}/pause", headers=api_headers)
    assert paused.status_code == 200 and paused.json["data"]["status"] == "paused"
    assert not events.wanted(db.session, "link.opened")  # a paused subscription wants nothing
    resumed = client.post(f"{BASE}/subscriptions/{subscription}/resume", headers=api_headers)
    assert resumed.json["data"]["status"] == "active" and events.wanted(db.session, "link.opened")
    assert client.delete(f"{BASE}/subscriptions/{subscription}", headers=api_headers).json["data"]["deleted"]
    assert client.get(f"{BASE}/subscriptions/{subscription}", headers=api_headers).status_code == 404
    assert client.delete(f"{BASE}/subscriptions/{subscription}", headers=api_headers).status_code == 404


@pytest.mark.parametrize(("body", "field", "issue"), [
    ({**GOOD, "url": "ftp://hooks.example.com/x"}, "url", "must start with http:// or https://"),
    ({**GOOD, "url": "javascript:alert(1)"}, "url", "must start with http:// or https://"),
    ({**GOOD, "url": "file:///etc/passwd"}, "url", "must start with http:// or https://"),
    ({**GOOD, "url": "https://"}, "url", "names no host"),
    ({**GOOD, "url": "hooks.example.com/x"}, "url", "must start with http:// or https://"),
    ({**GOOD, "url": "https://user:pw@hooks.example.com/"}, "url", "must not hold a user name or password"),
    ({**GOOD, "url": "https://hooks.example.com/#x"}, "url", "must not hold a fragment"),
    ({**GOOD, "url": "https://hooks.example.com:99999/"}, "url", "port that is not a number"),
    ({**GOOD, "url": "https://hooks.example.com/a b"}, "url", "holds spaces"),
    ({**GOOD, "url": "https://hooks.example.com/\r\nX-Injected: 1"}, "url", "holds spaces"),
    ({**GOOD, "url": "https://hooks.example.com/" + "a" * 2100}, "url", "longer than 2048"),
    ({**GOOD, "url": "http://[::1"}, "url", "names no valid host"),
    ({**GOOD, "url": "http://[::1]]/"}, "url", "names no valid host"),
    ({**GOOD, "url": "https://hooks.example.com/\x85"}, "url", "holds spaces, control"),
    ({**GOOD, "url": 5}, "url", "a receiver URL"),
    ({"events": ["link.opened"]}, "url", "a receiver URL"),
    ({**GOOD, "events": []}, "events", "a non-empty list"),
    ({**GOOD, "events": "link.opened"}, "events", "a non-empty list"),
    ({**GOOD, "events": ["link.clicked"]}, "events", "unknown event kind 'link.clicked'"),
    ({**GOOD, "events": [["link.opened"]]}, "events", "unknown event kind"),
    ({**GOOD, "description": {"a": 1}}, "description", "must be text"),
    ({**GOOD, "description": "d" * 300}, "description", "longer than 255"),
    ({**GOOD, "secret": "whsec_mine"}, "secret", "unknown field"),
])
def test_hostile_subscriptions_are_refused_naming_the_field(client: FlaskClient, api_headers: dict[str, str],
                                                            body: dict[str, Any], field: str, issue: str) -> None:
    answer = _create(client, api_headers, body)
    assert answer.status_code == 422, answer.json
    (detail,) = answer.json["error"]["details"]
    assert detail["field"] == field and issue in detail["issue"]
    assert client.get(f"{BASE}/subscriptions", headers=api_headers).json["data"] == []


@pytest.mark.parametrize(("data", "content_type"), [
    (b"not json", "application/json"), (b"[1, 2]", "application/json"), (b"[" * 100_000, "application/json"),
    (b'{"url": "https://h.example.com/\\u0000", "events": ["link.opened"]}', "application/json"),
])
def test_bodies_that_are_not_a_json_object_are_refused(client: FlaskClient, api_headers: dict[str, str],
                                                       data: bytes, content_type: str) -> None:
    answer = client.post(f"{BASE}/subscriptions", data=data, headers={**api_headers, "content-type": content_type})
    assert answer.status_code == 422 and answer.json["error"]["details"][0]["field"] in ("body", "url")


def test_without_a_key_nothing_is_told(client: FlaskClient) -> None:
    assert client.get(f"{BASE}/subscriptions").status_code == 401
    assert client.post(f"{BASE}/subscriptions", json=GOOD).status_code == 401


@pytest.mark.parametrize(("query", "field"), [("status=lost", "status"), ("subscription=abc", "subscription"),
                                              ("subscription=0", "subscription"), ("limit=9999", "limit")])
def test_the_delivery_log_refuses_bad_filters(client: FlaskClient, api_headers: dict[str, str], query: str,
                                              field: str) -> None:
    answer = client.get(f"{BASE}/deliveries?{query}", headers=api_headers)
    assert answer.status_code == 422 and answer.json["error"]["details"][0]["field"] == field


def test_the_delivery_log_lists_and_finds_one(client: FlaskClient, api_headers: dict[str, str],
                                              seeded: Any) -> None:

    _create(client, api_headers, {"url": "https://hooks.example.com/r", "events": ["reminder.batch.created"]})
    event_id = events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID, contact_id=None,
                             link_id=None, at=NOW, data={"count": 2})
    db.session.commit()
    fan_out(db.session, NOW, timedelta(hours=24))
    log = client.get(f"{BASE}/deliveries?status=pending", headers=api_headers).json
    assert log["meta"]["total"] == 1
    (entry,) = log["data"]
    assert (entry["eventId"], entry["type"], entry["attempts"], entry["nextAttemptAt"]) == (
        event_id, "reminder.batch.created", 0, "2026-11-28T12:00:00.000Z")
    assert client.get(f"{BASE}/deliveries?eventId={event_id}", headers=api_headers).json["meta"]["total"] == 1
    assert client.get(f"{BASE}/deliveries/{entry['id']}", headers=api_headers).json["data"] == entry
    assert client.get(f"{BASE}/deliveries/{entry['id'] + 1}", headers=api_headers).status_code == 404
    assert client.post(f"{BASE}/deliveries/99/redeliver", headers=api_headers).status_code == 404
    assert client.get(f"{BASE}/deliveries/99999999999", headers=api_headers).status_code == 404  # past INTEGER


def test_every_event_route_is_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").json["paths"]
    assert set(paths[f"{BASE}/subscriptions"]) == {"get", "post"}
    assert set(paths[f"{BASE}/subscriptions/{{subscriptionId}}"]) == {"get", "delete"}
    for tail in ("subscriptions/{subscriptionId}/pause", "subscriptions/{subscriptionId}/resume",
                 "deliveries/{deliveryId}/redeliver"):
        assert "post" in paths[f"{BASE}/{tail}"]
    assert "get" in paths[f"{BASE}/deliveries"] and "get" in paths[f"{BASE}/deliveries/{{deliveryId}}"]


def test_the_cli_subscribes_lists_delivers_and_unsubscribes(run: Callable[..., Result], seeded: Any) -> None:
    made = run("events", "subscribe", "https://hooks.example.com/cli", "--event", "link.revoked",
               "--description", "CRM")
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("whsec_") and len(parse_secret(secret)) == 32
    listed = run("events", "subscriptions")
    assert "https://hooks.example.com/cli\tlink.revoked\tCRM" in listed.output and secret not in listed.output
    assert run("events", "pause", "1").output.strip() == "subscription 1 is paused"
    assert run("events", "pause", "1", "--resume").output.strip() == "subscription 1 is active"
    delivered = run("events", "deliver")
    assert delivered.exit_code == 0 and delivered.output.startswith("events: fannedOut 0")
    assert run("events", "deliveries").output.strip() == "0 of 0"
    assert run("events", "unsubscribe", "1").output.strip() == "subscription 1 removed"
    assert state().clock.now() == NOW


@pytest.mark.parametrize(("args", "message"), [
    (("events", "subscribe", "ftp://x.example.com/", "--event", "link.opened"), "url: must start with http"),
    (("events", "subscribe", "http://[::1", "--event", "link.opened"), "Error: url: names no valid host"),
    (("events", "subscribe", "https://x.example.com/"), "Missing option '--event'"),
    (("events", "subscribe", "https://x.example.com/", "--event", "link.clicked"), "'link.clicked' is not one"),
    (("events", "unsubscribe", "7"), "subscription 7 not found"),
    (("events", "redeliver", "7"), "delivery 7 not found"),
    (("events", "deliveries", "--status", "lost"), "'lost' is not one of"),
])
def test_the_cli_refuses_in_one_line(run: Callable[..., Result], args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
