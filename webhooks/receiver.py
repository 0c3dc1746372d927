"""``POST /webhooks/formbricks``: size check, verify the raw body, claim it in the inbox, apply, answer.

The only Flask module of ``webhooks/``. A 2xx is sent only once the body is stored; a database that cannot
store it answers 503 (the host retries). Deleting duplicates on the host happens after the answer.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from sqlalchemy.orm import Session

from adapters.base import AdapterError
from plugin import metrics
from plugin.db import DbSession, db
from plugin.errors import ServiceError
from plugin.logs import current_request_id
from plugin.openapi import error_responses
from plugin.prepared import Driver
from plugin.services.host.adapters import survey_host_provider
from plugin.state import state
from plugin.write_turn import sqlite_write_turn
from webhooks import connections, host_cleanup, store
from plugin.services.responses.attribution import Intake
from webhooks.batch import Batches, Job, apply_jobs
from webhooks.inbox_apply import apply_stored, claim_and_apply
from plugin.services.responses.records import Delivery
from webhooks.payload import PayloadError, TestPing, UnknownEventError, parse_delivery
from webhooks.rejections import Rejections
from webhooks.signature import SIGNATURE_HEADER, SignatureError, parse_secret, verify

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)
KEY = "personal_links_webhooks"
PATH = "/webhooks/formbricks"
WAIT_LIMIT_MS = 2000  # two waits of at most 2 s keep the answer inside the host's 5 s timeout
TURN_LIMIT_S = 0.5  # and at most this long in the queue of SQLite's writers (plugin.write_turn)


class DeliveryRejected(ServiceError):
    """Raised by the receiver when a delivery is not authentic (400/401) or not a delivery at all (400)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _start_thread(job: Callable[[], None]) -> None:
    threading.Thread(target=job, name="personal-links-host-cleanup", daemon=True).start()


REGISTERED_KEYS_MAX_AGE = 60.0  # seconds a process trusts its copy of the registered webhooks' secrets
REGISTERED_KEYS_RECHECK = 1.0  # and at most one read more a second for deliveries no key matches (forged ones)


@dataclass
class WebhookState:
    """The configured secrets' keys (parsed once), the registered ones (read at most once a minute, and again
    when no key matches: a webhook just installed by another process; at most once a second, so forged deliveries
    cost no query), the refusals to log, and how work after the answer starts."""

    keys: list[bytes]
    background: Callable[[Callable[[], None]], None] = field(default=_start_thread)
    batches: Batches = field(default_factory=Batches)  # deliveries of this process applied together
    registered: list[bytes] | None = None
    registered_at: float = 0.0
    rechecked_at: float = float("-inf")
    rejections: Rejections = field(default_factory=Rejections)

    def registered_keys(self) -> list[bytes]:
        """The registered webhooks' keys, from this process's copy unless it is stale."""
        clock = time.monotonic()
        if self.registered is None or clock - self.registered_at > REGISTERED_KEYS_MAX_AGE:
            self.registered, self.registered_at = store.registered_secrets(db.session), clock
        return self.registered

    def recheck(self) -> list[bytes] | None:
        """The registered keys read again for a delivery none matched; None when read so within the last second."""
        clock = time.monotonic()
        if clock - self.rechecked_at < REGISTERED_KEYS_RECHECK:
            return None
        self.rechecked_at = self.registered_at = clock
        self.registered = store.registered_secrets(db.session)
        return self.registered


@bp.before_request
def _no_outcome_yet() -> None:
    g.webhook_outcome = None  # g outlives a request when an app context was already pushed (tests, CLI)


@bp.after_request
def _count(response: Response) -> Response:
    """Every answer to the host, by outcome and status (refusals and oversized bodies included)."""
    outcome = g.get("webhook_outcome") or {413: "too-large", 503: "unavailable"}.get(response.status_code, "rejected")
    metrics.webhook_answered(outcome, response.status_code)
    log.debug("webhook delivery answered: %s %s", outcome, response.status_code)
    return response


def init_app(app: Flask) -> None:
    """Parse the configured secrets once (config has checked them); on PostgreSQL, the intake's own engine."""
    app.extensions[KEY] = WebhookState(keys=[parse_secret(s) for s in app.config["WEBHOOK_SECRETS"]])
    connections.init_app(app, WAIT_LIMIT_MS)


def _is_ping(body: bytes) -> bool:
    try:
        return isinstance(parse_delivery(body), TestPing)
    except PayloadError:
        return False


def _authenticate(body: bytes, now: float) -> str:
    """The id to store the delivery under; DeliveryRejected when it is not authentic."""
    config = current_app.config
    if SIGNATURE_HEADER not in request.headers and config["WEBHOOK_ALLOW_UNSIGNED"]:
        log.warning("accepting an unsigned webhook delivery (PERSONAL_LINKS_WEBHOOK_ALLOW_UNSIGNED is on)")
        return "sha256:" + hashlib.sha256(body).hexdigest()  # the same body twice is the same delivery
    hooks: WebhookState = current_app.extensions[KEY]
    try:
        try:
            return _verify(body, hooks.keys + hooks.registered_keys(), now)
        except SignatureError as exc:
            again = hooks.recheck() if exc.reason == "no-matching-signature" else None
            if again is None:
                raise
            return _verify(body, hooks.keys + again, now)
    except SignatureError as exc:
        metrics.signature_failed(exc.reason)
        hooks.rejections.note(exc.reason, str(exc))  # the first at once, then a summary a minute
        raise DeliveryRejected(exc.status, str(exc)) from exc


def _verify(body: bytes, keys: list[bytes], now: float) -> str:
    if not keys:
        raise DeliveryRejected(401, "no webhook secret is configured: set PERSONAL_LINKS_WEBHOOK_SECRETS")
    return verify(request.headers, body, keys, now=now).webhook_id  # type: ignore[arg-type]


def _answer(status: str, code: int = 200, **extra: Any) -> tuple[Response, int]:
    g.webhook_outcome = "ping" if extra.get("event") == "testEndpoint" else status
    return jsonify({"status": status, **extra}), code


@bp.post(PATH)
def receive() -> tuple[Response, int]:
    """Take one delivery from the host."""
    request.max_content_length = current_app.config["WEBHOOK_MAX_BYTES"]
    body = request.get_data(cache=False)  # 413 past the limit, before anything is parsed
    if SIGNATURE_HEADER not in request.headers and _is_ping(body):
        return _answer("ok", event="testEndpoint")
    now = state().clock.now()
    webhook_id = _authenticate(body, now.timestamp())
    # Kept as text for the retry job; a NUL (which PostgreSQL's text refuses) cannot be in valid JSON anyway.
    text = body.decode("utf-8", "replace").replace("\x00", "\ufffd")
    try:
        parsed = parse_delivery(body)
    except UnknownEventError as exc:
        store.claim(db.session, webhook_id, exc.event, text, now, status="ignored")
        db.session.commit()
        return _answer("ignored", event=exc.event[:64])
    except PayloadError as exc:
        store.claim(db.session, webhook_id, "malformed", text, now, status="ignored", error=str(exc))
        db.session.commit()
        raise DeliveryRejected(400, f"not a delivery we understand: {exc}") from exc
    if isinstance(parsed, TestPing):
        return _answer("ok", event="testEndpoint")
    return _store_and_apply(webhook_id, parsed, text)


def _intake() -> Intake:
    plugin, config = state(), current_app.config
    return Intake(plugin.tokens, plugin.hidden_field, config["LATE_RESPONSES_COUNT"], plugin.tickets,
                  timedelta(seconds=config["ERASURE_DELAY_SECONDS"]))


def _store_and_apply(webhook_id: str, delivery: Delivery, text: str) -> tuple[Response, int]:
    engine = connections.engine_of(current_app)
    if engine is None:  # SQLite: the app's session, its busy timeout bounded per delivery
        return _settle(db.session, WAIT_LIMIT_MS, webhook_id, delivery, text)
    with Session(engine) as session:  # PostgreSQL: the intake's connections, made with the bound
        return _settle(session, None, webhook_id, delivery, text)


def _settle(session: DbSession, limit_ms: int | None, webhook_id: str, delivery: Delivery, text: str
            ) -> tuple[Response, int]:
    """Store and apply a delivery (``limit_ms``: the bound on its waits to set, None when its connection has
    one); answer with what became of it."""
    hooks: WebhookState = current_app.extensions[KEY]
    engine = db.engine
    turn = partial(sqlite_write_turn, engine.dialect.name, TURN_LIMIT_S, engine.url.database)
    now = state().clock.now()
    if engine.dialect.name == "sqlite":  # one writer at a time anyway: those queued go in one transaction
        job = Job(webhook_id, delivery, text, now, current_request_id(), PATH)
        stored, applied = hooks.batches.apply(job, partial(apply_jobs, session, intake=_intake(),
                                                           wait_limit_ms=WAIT_LIMIT_MS, turn=turn), TURN_LIMIT_S)
    else:  # PostgreSQL's writers run side by side, each in its own transaction
        stored, applied = claim_and_apply(session, webhook_id, delivery, text, now, _intake(), limit_ms)
    if not stored:  # stored before: applied, ignored, or failed and waiting for the retry job
        row = store.find(session, webhook_id)
        session.commit()
        if row is None or row.status in ("applied", "ignored"):
            return _answer("duplicate", webhookId=webhook_id)  # a read: no turn to write taken
        if limit_ms is not None:
            store.limit_waits(Driver(session), limit_ms)
        with turn():
            applied = apply_stored(session, row.id, delivery, state().clock.now(), _intake())  # a repeat
    if applied is None:
        return _answer("stored", 202, webhookId=webhook_id)
    if applied.decided and applied.status == "duplicate" and current_app.config["DELETE_DUPLICATES_ON_HOST"]:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        hooks.background(partial(_delete_on_host, app, applied.response_id))
    return _answer("applied", webhookId=webhook_id, responseId=applied.response_id, outcome=applied.status)


def _delete_on_host(app: Flask, response_id: str) -> None:
    """Delete a duplicate on the host, in an app context of its own (runs after the answer)."""
    with app.app_context():
        try:
            host = host_cleanup.deleting_host(survey_host_provider(app)())  # the app's one host and rate limit
        except AdapterError as exc:
            log.warning("survey host unavailable, the duplicate %s is kept on the host: %s", response_id, exc.message)
            return
        if host is not None:
            host_cleanup.delete_duplicate(db.session, host, response_id, state().clock.now())
        db.session.remove()


PATHS = {
    PATH: {"post": {
        "summary": "Receive a Formbricks response webhook (Standard Webhooks signature)",
        "security": [],
        "parameters": [{"name": name, "in": "header", "required": False, "schema": {"type": "string"}}
                       for name in ("webhook-id", "webhook-timestamp", "webhook-signature")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"webhookId": {"type": "string"}, "event": {"type": "string"},
                                             "data": {"type": "object"}}}}}},
        "responses": {"200": {"description": "applied, duplicate, ignored or the Test Endpoint ping"},
                      "202": {"description": "stored; applying failed and is retried later"},
                      **error_responses(400, 401, 413, 503, keyed=False)}}},
}
