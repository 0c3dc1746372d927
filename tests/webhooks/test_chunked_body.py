"""A webhook body sent chunked (no Content-Length) is held to WEBHOOK_MAX_BYTES like any other: over it, 413,
never 401 "no signature matches" nor a signature failure in the log; up to it, read whole. Over real HTTP:
werkzeug's server and gunicorn, each of which ends a chunked body itself (``wsgi.input_terminated``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from plugin.db import db
from tests.servers import fresh_database, gunicorn, serve_in_thread
from tests.webhooks.support import SECRET, signed
from webhooks.models import InboxDelivery

URL = "/webhooks/formbricks"
LIMIT = 1000
pytestmark = pytest.mark.settings(WEBHOOK_MAX_BYTES=LIMIT)


def body_of(size: int) -> bytes:
    """A delivery of an event the sidecar ignores (answered 200 "ignored" when authentic), ``size`` bytes long."""
    head = b'{"webhookId": "hook-1", "event": "surveyClosed", "pad": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def chunked(body: bytes) -> Iterator[bytes]:
    """The body as a generator: requests sends it with Transfer-Encoding: chunked and no Content-Length."""
    for start in range(0, len(body), 300):
        yield body[start:start + 300]


def _post(base: str, body: bytes, at: datetime | None = None) -> requests.Response:
    headers = signed(body, at=at) if at else signed(body)
    answer = requests.post(base + URL, data=chunked(body), headers=headers, timeout=10)
    assert answer.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in answer.request.headers
    return answer


def test_a_chunked_body_over_the_limit_is_413_and_no_signature_failure(app: Flask,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="webhooks"), serve_in_thread(app) as base:
        answer = _post(base, body_of(LIMIT + 500))
    assert answer.status_code == 413 and answer.json()["error"]["code"] == 413
    assert "rejected" not in caplog.text and "signature" not in caplog.text
    assert "webhook delivery answered: too-large 413" in caplog.text
    assert db.session.scalar(select(func.count()).select_from(InboxDelivery)) == 0


def test_a_chunked_body_up_to_the_limit_is_read_whole(app: Flask) -> None:
    with serve_in_thread(app) as base:
        answers = [_post(base, body_of(size)) for size in (LIMIT - 1, LIMIT)]
    assert [(answer.status_code, answer.json()["status"]) for answer in answers] == [(200, "ignored")] * 2


@pytest.mark.servers
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_gunicorn_answers_a_chunked_body_over_the_limit_413(backend: str, tmp_path: Path) -> None:
    settings = {"WEBHOOK_SECRETS": SECRET, "WEBHOOK_MAX_BYTES": str(LIMIT)}
    with fresh_database(backend, tmp_path) as url, gunicorn(url, tmp_path, workers=1, settings=settings) as base:
        now = datetime.now(UTC)  # gunicorn's clock is the real one
        over, within = _post(base, body_of(LIMIT + 500), now), _post(base, body_of(LIMIT), now)
    assert over.status_code == 413 and json.loads(over.text)["error"]["code"] == 413
    assert (within.status_code, within.json()["status"]) == (200, "ignored")
    log = (tmp_path / "gunicorn.log").read_text()
    assert "no-matching-signature" not in log and "rejected" not in log
