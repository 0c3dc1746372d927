"""The receiver end to end: signatures at the endpoint, size, unsigned, pings, the inbox, failures."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from plugin.db import db
from plugin.models import Link, ResponseAttribution
from plugin.services.responses import attribution
from plugin.services.responses.attribution import Intake
from plugin.state import state
from tests.helpers import NOW
from tests.webhooks.support import SECRET, response_body, signed, token_of
from webhooks import receiver, store
from webhooks.inbox_apply import apply_pending
from webhooks.models import InboxDelivery, WebhookRegistration

URL = "/webhooks/formbricks"


def inbox() -> list[InboxDelivery]:
    return list(db.session.scalars(select(InboxDelivery).order_by(InboxDelivery.id)))


def test_shared_signature_case_at_the_endpoint(standard_case: dict[str, Any], client: FlaskClient,
                                                clock: Any) -> None:
    # The case's secrets are registered webhooks' secrets (read from the database, several: rotation).
    for number, secret in enumerate(standard_case["secrets"]):
        db.session.add(WebhookRegistration(host="formbricks", host_webhook_id=f"w{number}", url="https://x",
                                           secret=secret, created_at=NOW))
    db.session.commit()
    clock.at = datetime.fromtimestamp(standard_case["now"], UTC)
    answer = client.post(URL, data=standard_case["body"].encode("utf-8"), headers=standard_case["headers"])
    stored = [row.webhook_id for row in inbox()]
    if standard_case["valid"]:
        # Verified: stored under its id. A body that is not a Formbricks delivery is then a 400 of its own kind.
        assert stored == [standard_case["headers"]["webhook-id"]]
        assert answer.status_code == 200 or answer.json["error"]["detail"].startswith("not a delivery")
    else:
        assert answer.status_code in (400, 401)
        assert stored == []


def _broken(real: dict[str, Any], broken: str) -> tuple[bytes, dict[str, str]]:
    body = real["body"].encode("utf-8")
    headers = signed(body)
    if broken == "body":
        body = body.replace(b"user-42", b"user-43")
    elif broken == "secret":
        headers = signed(body, secret=real["secret"])
    elif broken == "old":
        headers = signed(body, at=datetime.fromtimestamp(NOW.timestamp() - 301, UTC))
    elif broken == "future":
        headers = signed(body, at=datetime.fromtimestamp(NOW.timestamp() + 301, UTC))
    elif broken == "id":
        headers["webhook-id"] = "msg_other"
    elif broken == "no-id":
        del headers["webhook-id"]
    elif broken == "timestamp-text":
        headers["webhook-timestamp"] = "soon"
    elif broken == "signature-garbage":
        headers["webhook-signature"] = "v1,%%%not base64%%%"
    elif broken == "signature-empty":
        headers["webhook-signature"] = ""
    return body, headers


@pytest.mark.parametrize("broken, status", [
    ("body", 401), ("secret", 401), ("old", 401), ("future", 401), ("id", 401), ("no-id", 400),
    ("timestamp-text", 400), ("signature-garbage", 400), ("signature-empty", 400)])
def test_real_payload_with_one_thing_broken(real_delivery: dict[str, Any], client: FlaskClient, broken: str,
                                            status: int) -> None:
    body, headers = _broken(real_delivery, broken)
    answer = client.post(URL, data=body, headers=headers)
    assert answer.status_code == status
    assert answer.json["error"]["code"] == status
    assert inbox() == []


def test_real_payload_signed_right_is_stored_and_answered(real_delivery: dict[str, Any],
                                                          client: FlaskClient) -> None:
    body, headers = _broken(real_delivery, "nothing")
    answer = client.post(URL, data=body, headers=headers)
    assert answer.status_code == 200
    assert answer.json["outcome"] == "unattributed"  # the captured survey has no personal-link token
    assert [(row.event, row.status) for row in inbox()] == [("responseCreated", "applied")]


def test_test_endpoint_ping_unsigned_gets_2xx_and_stores_nothing(client: FlaskClient) -> None:
    answer = client.post(URL, data=b'{"event": "testEndpoint"}', headers={"content-type": "application/json"})
    assert answer.status_code == 200
    assert inbox() == []


def test_unsigned_delivery_is_refused_by_default(client: FlaskClient, links: dict[str, int]) -> None:
    body = response_body("responseFinished", "r1", token_of(links["c1"]), finished=True)
    answer = client.post(URL, data=body, headers={"content-type": "application/json"})
    assert answer.status_code in (400, 401)
    assert inbox() == []


@pytest.mark.settings(WEBHOOK_ALLOW_UNSIGNED=True)
def test_unsigned_delivery_accepted_when_allowed_with_a_warning(client: FlaskClient, links: dict[str, int],
                                                                caplog: pytest.LogCaptureFixture) -> None:
    body = response_body("responseFinished", "r1", token_of(links["c1"]), finished=True)
    with caplog.at_level(logging.WARNING, logger="webhooks"):
        first = client.post(URL, data=body, headers={"content-type": "application/json"})
        again = client.post(URL, data=body, headers={"content-type": "application/json"})
    assert (first.json["outcome"], again.json["status"]) == ("attributed", "duplicate")
    assert "unsigned" in caplog.text
    assert db.session.get(Link, links["c1"]).use_count == 1


@pytest.mark.settings(WEBHOOK_MAX_BYTES=1000)
def test_body_over_the_limit_is_413(client: FlaskClient) -> None:
    body = b'{"event": "responseCreated", "pad": "' + b"x" * 1000 + b'"}'
    answer = client.post(URL, data=body, headers=signed(body))
    assert answer.status_code == 413
    assert inbox() == []


@pytest.mark.settings(WEBHOOK_SECRETS="")
def test_no_secret_configured_refuses_signed_deliveries(client: FlaskClient) -> None:
    body = response_body("responseCreated", "r1", None, finished=False)
    assert client.post(URL, data=body, headers=signed(body)).status_code == 401


def test_rotation_old_and_new_configured_secrets_both_verify(app: Any, client: FlaskClient) -> None:
    old = "whsec_" + "AQEB" * 11
    app.extensions["personal_links_webhooks"].keys.append(store.parse_secret(old))
    for secret in (SECRET, old):
        body = response_body("responseCreated", f"r-{secret[-4:]}", None, finished=False)
        assert client.post(URL, data=body, headers=signed(body, secret=secret)).status_code == 200


@pytest.mark.settings(WEBHOOK_SECRETS="")
def test_registered_secrets_are_read_once_then_again_when_none_matches(
        client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process keeps its copy of the registered secrets, so a webhook installed by another process (a row
    that appears later) verifies at once, and a removed one stops verifying once the copy is a minute old."""
    reads = []
    monkeypatch.setattr(store, "registered_secrets", lambda session: reads.append(1) or _registered(session))
    newer = "whsec_" + "AgIC" * 11
    db.session.add(WebhookRegistration(host="formbricks", host_webhook_id="w1", url="https://x", secret=SECRET,
                                       created_at=NOW))
    db.session.commit()
    for number in range(3):
        body = response_body("responseCreated", f"r{number}", None, finished=False)
        assert client.post(URL, data=body, headers=signed(body)).status_code == 200
    assert len(reads) == 1  # read once for three deliveries
    db.session.add(WebhookRegistration(host="formbricks", host_webhook_id="w2", url="https://y", secret=newer,
                                       created_at=NOW))
    db.session.commit()
    body = response_body("responseCreated", "r-new", None, finished=False)
    assert client.post(URL, data=body, headers=signed(body, secret=newer)).status_code == 200
    assert len(reads) == 2  # no key matched: read again, and the new secret verified
    db.session.execute(update(WebhookRegistration).values(removed_at=NOW))
    db.session.commit()
    hooks = client.application.extensions["personal_links_webhooks"]
    hooks.registered_at -= receiver.REGISTERED_KEYS_MAX_AGE + 1  # a minute later
    body = response_body("responseCreated", "r-removed", None, finished=False)
    assert client.post(URL, data=body, headers=signed(body)).status_code == 401


_registered = store.registered_secrets


def test_same_webhook_id_twice_has_one_effect(client: FlaskClient, links: dict[str, int]) -> None:
    body = response_body("responseFinished", "r1", token_of(links["c1"]), finished=True)
    headers = signed(body, webhook_id="msg_1")
    assert client.post(URL, data=body, headers=headers).json["outcome"] == "attributed"
    repeat = client.post(URL, data=body, headers=headers)
    assert (repeat.status_code, repeat.json["status"]) == (200, "duplicate")
    assert len(inbox()) == 1
    assert db.session.get(Link, links["c1"]).use_count == 1


def test_unknown_event_is_2xx_and_stored_as_ignored(client: FlaskClient) -> None:
    body = b'{"event": "responseDeleted", "webhookId": "w", "data": {}}'
    answer = client.post(URL, data=body, headers=signed(body))
    assert (answer.status_code, answer.json["status"]) == (200, "ignored")
    assert [(row.event, row.status) for row in inbox()] == [("responseDeleted", "ignored")]


def test_verified_but_malformed_body_is_400_and_kept(client: FlaskClient) -> None:
    body = b'{"event": "responseFinished", "webhookId": "w", "data": {"id": 5}}'
    answer = client.post(URL, data=body, headers=signed(body))
    assert answer.status_code == 400
    assert [row.status for row in inbox()] == ["ignored"]


def test_database_down_when_storing_is_503(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any, **kwargs: Any) -> bool:
        raise OperationalError("INSERT", {}, Exception("could not connect to server"))

    monkeypatch.setattr(store, "claim", down)
    body = response_body("responseCreated", "r1", None, finished=False)
    answer = client.post(URL, data=body, headers=signed(body))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]


def test_failed_apply_stays_in_the_inbox_and_is_applied_later(client: FlaskClient, links: dict[str, int],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def locked(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    monkeypatch.setattr(attribution, "apply_delivery", locked)
    body = response_body("responseFinished", "r1", token_of(links["c1"]), finished=True)
    answer = client.post(URL, data=body, headers=signed(body))
    assert answer.status_code == 202
    [row] = inbox()
    assert (row.status, row.attempts, "database is locked" in (row.last_error or "")) == ("failed", 1, True)

    monkeypatch.undo()
    intake = Intake(state().tokens, "plink")
    assert apply_pending(db.session, NOW, intake) == {"applied": 1, "failed": 0, "gaveUp": 0, "ignored": 0}
    assert apply_pending(db.session, NOW, intake)["applied"] == 0
    db.session.expire_all()
    assert [(row.status, row.attempts) for row in inbox()] == [("applied", 2)]
    assert db.session.scalar(select(ResponseAttribution.status)) == "attributed"


@pytest.mark.parametrize("failure", [OperationalError("UPDATE", {}, Exception("database is locked")),
                                     RuntimeError("a bug in the effect")])
def test_an_effect_failing_half_way_is_undone_and_the_delivery_kept(
        client: FlaskClient, links: dict[str, int], monkeypatch: pytest.MonkeyPatch, failure: Exception) -> None:
    """Claim and effect share one transaction: the effect's savepoint is undone, the claim still commits."""
    def fail_after_the_first_statements(*args: Any, **kwargs: Any) -> str:
        raise failure

    monkeypatch.setattr(attribution, "_finish", fail_after_the_first_statements)
    body = response_body("responseFinished", "r1", token_of(links["c1"]), finished=True)
    assert client.post(URL, data=body, headers=signed(body)).status_code == 202
    db.session.expire_all()
    [row] = inbox()
    assert (row.status, type(failure).__name__ in (row.last_error or "")) == ("failed", True)
    assert db.session.scalar(select(ResponseAttribution.id)) is None  # the half-done effect is gone
    assert db.session.get(Link, links["c1"]).started_at is None
    monkeypatch.undo()
    assert apply_pending(db.session, NOW, Intake(state().tokens, "plink"))["applied"] == 1
    db.session.expire_all()
    assert db.session.scalar(select(ResponseAttribution.status)) == "attributed"
    assert db.session.get(Link, links["c1"]).use_count == 1


def test_a_repeat_of_a_failed_delivery_applies_it(client: FlaskClient, links: dict[str, int],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attribution, "apply_delivery", lambda *a, **k: (_ for _ in ()).throw(
        OperationalError("UPDATE", {}, Exception("database is locked"))))
    body = response_body("responseFinished", "r1", token_of(links["c1"]), finished=True)
    headers = signed(body, webhook_id="msg_retry")
    assert client.post(URL, data=body, headers=headers).status_code == 202
    monkeypatch.undo()
    assert client.post(URL, data=body, headers=headers).json["outcome"] == "attributed"
    assert db.session.get(Link, links["c1"]).use_count == 1


def test_openapi_documents_the_webhook(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").json["paths"]
    assert "post" in paths[URL]


@pytest.mark.parametrize("field, value", [("id", "r" * 256), ("id", "r\u0000x"), ("surveyId", "s\u0000")])
def test_ids_that_cannot_be_stored_are_400_and_kept_as_ignored(client: FlaskClient, links: dict[str, int],
                                                               field: str, value: str) -> None:
    import json

    document = json.loads(response_body("responseFinished", "r1", token_of(links["c1"]), finished=True))
    document["data"][field] = value
    body = json.dumps(document).encode()
    answer = client.post(URL, data=body, headers=signed(body))
    assert answer.status_code == 400 and f"data.{field}" in answer.get_json()["error"]["detail"]
    assert [row.status for row in inbox()] == ["ignored"]


def test_a_raw_nul_byte_in_a_signed_body_is_400_and_kept_as_ignored(client: FlaskClient,
                                                                     links: dict[str, int]) -> None:
    body = response_body("responseFinished", "r1", token_of(links["c1"]), finished=True).replace(
        b'"an answer"', b'"an \x00answer"')
    answer = client.post(URL, data=body, headers=signed(body))
    assert answer.status_code == 400
    [row] = inbox()
    assert row.status == "ignored" and "\x00" not in row.body


def test_an_unknown_event_with_a_nul_is_ignored_not_an_error(client: FlaskClient, links: dict[str, int]) -> None:
    body = b'{"webhookId": "h", "event": "weird\\u0000event", "data": {}}'
    answer = client.post(URL, data=body, headers=signed(body))
    assert answer.status_code == 200 and answer.get_json()["status"] == "ignored"
    assert [row.status for row in inbox()] == ["ignored"]


def test_a_value_the_database_refuses_is_flagged_dead_at_once_without_its_sql(
        client: FlaskClient, links: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import DataError

    def refused(*args: Any, **kwargs: Any) -> None:
        raise DataError("INSERT INTO response_attributions VALUES (%(secret)s)", {"secret": "answers"},
                        Exception("value too long for type character varying(255)"))

    monkeypatch.setattr(attribution, "apply_delivery", refused)
    body = response_body("responseFinished", "r1", token_of(links["c1"]), finished=True)
    assert client.post(URL, data=body, headers=signed(body)).status_code == 202
    [row] = inbox()
    assert row.status == "dead"
    assert row.last_error == "DataError: value too long for type character varying(255)"
