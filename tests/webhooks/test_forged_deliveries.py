"""Forged deliveries under load: each is counted by reason, costs no database query once the secrets were read
again, and the log gets a line for the first and a summary per interval, not a line each."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from plugin.db import db
from tests.helpers import NOW
from tests.webhooks.support import response_body, signed
from webhooks import receiver, rejections
from webhooks.models import WebhookRegistration

URL = "/webhooks/formbricks"
FORGER = "whsec_" + "Zm9yZ2Vk" * 4  # a secret nobody registered
NEWER = "whsec_" + "AgIC" * 11


@pytest.fixture
def statements(client: FlaskClient) -> Iterator[list[str]]:
    """The SQL statements run on the app's engine while the test runs."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with client.application.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", note)


def forge(client: FlaskClient, number: int) -> int:
    body = response_body("responseFinished", f"forged-{number}", None, finished=True)
    return client.post(URL, data=body, headers=signed(body, secret=FORGER, webhook_id=f"msg_f{number}")).status_code


def hooks(client: FlaskClient) -> receiver.WebhookState:
    return client.application.extensions[receiver.KEY]  # type: ignore[no-any-return]


def test_forged_deliveries_read_the_secrets_again_at_most_once_a_second(
        client: FlaskClient, statements: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receiver, "REGISTERED_KEYS_RECHECK", 3600.0)  # the test's forty within one "second"
    assert [forge(client, number) for number in range(40)] == [401] * 40
    reads = [s for s in statements if "webhook_registrations" in s]
    assert len(reads) == 2, reads  # the first read, and the one a miss asks for; not one per forged delivery
    assert len(statements) == len(reads)  # a refusal writes nothing and reads nothing else


def test_a_webhook_installed_elsewhere_verifies_at_once_when_no_forgery_came_just_before(
        client: FlaskClient, statements: list[str]) -> None:
    assert forge(client, 0) == 401
    hooks(client).rechecked_at -= receiver.REGISTERED_KEYS_RECHECK  # a second later
    db.session.add(WebhookRegistration(host="formbricks", host_webhook_id="w2", url="https://y", secret=NEWER,
                                       created_at=NOW))
    db.session.commit()
    body = response_body("responseCreated", "r-new", None, finished=False)
    assert client.post(URL, data=body, headers=signed(body, secret=NEWER)).status_code == 200


def test_forged_deliveries_log_the_first_then_one_summary_per_interval(
        client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=receiver.__name__)

    def lines() -> list[str]:
        found = [r.getMessage() for r in caplog.records if r.name == receiver.__name__ and r.levelno >= logging.WARNING]
        caplog.clear()
        return found

    assert [forge(client, number) for number in range(30)] == [401] * 30
    assert client.post(URL, data=b"{}", headers={"webhook-id": "x", "webhook-timestamp": "soon",
                                                  "webhook-signature": "v1,AAAA"}).status_code == 400
    assert lines() == ["webhook delivery rejected (no-matching-signature): no signature matches any configured "
                       "secret; more in the next 60 s are counted and logged as one line"]
    hooks(client).rejections.logged_at -= rejections.LOG_SECONDS  # a minute later
    assert forge(client, 99) == 401
    assert lines() == ["31 webhook deliveries rejected as not authentic in the last 60 s: 30 no-matching-signature, "
                       "1 malformed-header; the last: no signature matches any configured secret"]
