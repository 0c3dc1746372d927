"""``personal-links events listen``: a real receiver (a thread, and the command as a process) sent real signed
deliveries; it answers 204 to the authentic ones and 401 to the rest, one line each."""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask import Flask

from plugin.cli import cli
from plugin.db import db
from plugin.models import EventDelivery
from plugin.services.events import events, subscriptions
from plugin.services.events.event_receiver import MAX_BODY, EventReceiver
from plugin.state import state
from tests.plugin.events_support import drain_now, real_time
from tests.servers import free_port
from webhooks.signature import parse_secret, sign

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 32).decode()
EVENT = {"id": "evt_0123456789abcdef01234567", "type": "response.completed", "timestamp": "2026-11-28T12:03:00.000Z",
         "data": {"surveyId": "survey-1", "contactId": "c1", "linkId": 1, "responseId": "r1"}}
BODY = json.dumps(EVENT, sort_keys=True, separators=(",", ":")).encode()
PERSONAL_LINKS = str(Path(sys.prefix) / "bin" / "personal-links")


@dataclass
class Listener:
    url: str
    server: EventReceiver
    lines: list[str] = field(default_factory=list)


@pytest.fixture
def listener() -> Iterator[Listener]:
    """The receiver over real HTTP in a thread, knowing SECRET; what it reports is collected."""
    lines: list[str] = []
    server = EventReceiver("127.0.0.1", 0, [parse_secret(SECRET)], lambda received: lines.append(received.line))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield Listener(f"http://127.0.0.1:{server.server_port}/", server, lines)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def headers(secret: str = SECRET, body: bytes = BODY, stamp: int | None = None,
            webhook_id: str = "evt_0123456789abcdef01234567") -> dict[str, str]:
    """The headers the sidecar's sender sends with ``body``, signed with ``secret`` (its own ``sign``)."""
    stamp = int(time.time()) if stamp is None else stamp
    return {"webhook-id": webhook_id, "webhook-timestamp": str(stamp),
            "webhook-signature": sign(webhook_id, stamp, body, secret), "content-type": "application/json"}


def post(listener: Listener, body: bytes, sent_headers: dict[str, str]) -> int:
    return requests.post(listener.url, data=body, headers=sent_headers, timeout=5).status_code


def test_a_signed_delivery_is_answered_204_and_printed(listener: Listener) -> None:
    assert post(listener, BODY, headers()) == 204
    assert listener.lines == ["verified response.completed evt_0123456789abcdef01234567 survey=survey-1 contact=c1"]
    assert listener.server.verified == 1


def test_a_tampered_body_is_rejected_401(listener: Listener) -> None:
    tampered = BODY.replace(b'"c1"', b'"c2"')
    assert post(listener, tampered, headers(body=BODY)) == 401
    assert listener.lines == ["REJECTED: no-matching-signature: no signature matches any configured secret"]
    assert listener.server.verified == 0


def test_a_delivery_signed_with_another_secret_is_rejected_401(listener: Listener) -> None:
    assert post(listener, BODY, headers(secret=OTHER)) == 401
    assert listener.lines == ["REJECTED: no-matching-signature: no signature matches any configured secret"]


def test_an_old_delivery_is_rejected_401(listener: Listener) -> None:
    assert post(listener, BODY, headers(stamp=int(time.time()) - 600)) == 401
    assert listener.lines[0].startswith("REJECTED: timestamp-out-of-tolerance: timestamp is 6")


def test_a_delivery_without_signature_headers_is_rejected_401(listener: Listener) -> None:
    assert post(listener, BODY, {"content-type": "application/json"}) == 401
    assert listener.lines == ["REJECTED: missing-header: webhook-id header is missing"]


def test_a_repeated_signature_header_is_rejected_401(listener: Listener) -> None:
    sent = headers()
    # requests would join repeated headers: send this one twice through http.client
    connection = http.client.HTTPConnection("127.0.0.1", listener.server.server_port, timeout=5)
    try:
        connection.putrequest("POST", "/")
        for name, value in [*sent.items(), ("webhook-signature", sent["webhook-signature"]),
                            ("content-length", str(len(BODY)))]:
            connection.putheader(name, value)
        connection.endheaders(BODY)
        assert connection.getresponse().status == 401
    finally:
        connection.close()
    assert listener.lines == ["REJECTED: malformed-header: webhook-signature header is given more than once"]


def test_a_repeat_of_a_verified_delivery_is_answered_204_and_not_counted_again(listener: Listener) -> None:
    assert post(listener, BODY, headers()) == 204
    assert post(listener, BODY, headers()) == 204
    assert listener.lines[1] == "again response.completed evt_0123456789abcdef01234567 (already received)"
    assert listener.server.verified == 1


def test_an_oversized_body_is_refused_unread(listener: Listener) -> None:
    status = requests.post(listener.url, headers={"content-length": str(MAX_BODY + 1)}, timeout=5).status_code
    assert status == 413
    assert listener.lines == [f"REJECTED: a body of {MAX_BODY + 1} bytes, at most {MAX_BODY}"]


def test_a_signed_body_that_is_not_an_event_is_400(listener: Listener) -> None:
    assert post(listener, b"[1, 2]", headers(body=b"[1, 2]")) == 400
    assert listener.lines == ["REJECTED: evt_0123456789abcdef01234567 is signed but its body is not a JSON event"]


def test_the_command_verifies_the_sidecars_own_delivery_and_exits_after_count(app: Flask) -> None:
    real_time(app)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    created = subscriptions.create_subscription(db.session, {"url": url, "events": ["response.completed"]},
                                                state().clock.now())
    db.session.commit()
    process = subprocess.Popen([PERSONAL_LINKS, "events", "listen", "--port", str(port), "--secret", created.secret,
                                "--count", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None and "listening on" in process.stderr.readline()
        event_id = events.record(db.session, "response.completed", survey_id="survey-1", contact_id=None, link_id=None,
                                 at=state().clock.now(), data={"responseId": "r1", "status": "attributed"})
        db.session.commit()
        assert drain_now()["delivered"] == 1
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert out == f"verified response.completed {event_id} survey=survey-1 contact=None\n"
    assert db.session.query(EventDelivery.last_status).scalar() == 204


def test_the_command_refuses_a_malformed_secret() -> None:
    result = CliRunner().invoke(cli, ["events", "listen", "--port", "0", "--secret", "whsec_c2hvcnQ="], obj={})
    assert result.exit_code == 1
    assert "--secret: webhook secret is too short: 5 bytes, at least 24 needed" in result.output


def test_the_command_says_when_the_port_is_taken() -> None:
    with EventReceiver("127.0.0.1", 0, [parse_secret(SECRET)], lambda received: None) as taken:
        port = taken.server_port
        result = CliRunner().invoke(cli, ["events", "listen", "--port", str(port), "--secret", SECRET], obj={})
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.output
