"""``POST /webhooks/formbricks`` in four steps: read (size check, verify the raw body, parse it), hand it to the
intake (``webhooks.intake``: stored by its id, applied), map what became of it to an answer, answer.

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
from functools import partial
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from adapters.base import AdapterError
from plugin import metrics
from plugin.db import db
from plugin.errors import ServiceError
from plugin.openapi import error_responses
from plugin.services.host.adapters import survey_host_provider
from plugin.services.responses.attribution import Intake
from plugin.state import state
from webhooks import connections, host_cleanup, store
from webhooks.intake import WAIT_LIMIT_MS, Arrival, DeliveryIntake, Outcome, for_app
from webhooks.payload import PayloadError, TestPing, parse_delivery
from webhooks.rejections import Rejections
from webhooks.signature import SIGNATURE_HEADER, SignatureError, parse_secret, verify

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)
KEY = "personal_links_webhooks"
PATH = "/webhooks/formbricks"


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
    cost no query), the refusals to log, how work after the answer starts, and the intake (chosen at start-up)."""

    keys: list[bytes]
    intake: DeliveryIntake
    background: Callable[[Callable[[], None]], None] = field(default=_start_thread)
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
    """Parse the configured secrets once (config has checked them); on PostgreSQL, the intake's own engine; the
    intake, by the database (group commit on SQLite, a transaction each on PostgreSQL)."""
    connections.init_app(app, WAIT_LIMIT_MS)
    intake = for_app(app, _rules, lambda: state().clock.now(), partial(_delete_later, app), PATH)
    app.extensions[KEY] = WebhookState(keys=[parse_secret(s) for s in app.config["WEBHOOK_SECRETS"]], intake=intake)


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
    """Take one delivery from the host: read it, hand it to the intake, answer with what became of it."""
    arrival = _read()
    if arrival is None:
        return _answer("ok", event="testEndpoint")
    hooks: WebhookState = current_app.extensions[KEY]
    return _answer_for(hooks.intake.accept(arrival))


def _read() -> Arrival | None:
    """The authentic delivery in the request, parsed (or why it is not a delivery); None for the host UI's Test
    Endpoint ping. DeliveryRejected when it is not authentic."""
    request.max_content_length = current_app.config["WEBHOOK_MAX_BYTES"]
    body = request.get_data(cache=False)  # 413 past the limit, before anything is parsed
    if SIGNATURE_HEADER not in request.headers and _is_ping(body):
        return None
    now = state().clock.now()
    webhook_id = _authenticate(body, now.timestamp())
    # Kept as text for the retry job; a NUL (which PostgreSQL's text refuses) cannot be in valid JSON anyway.
    text = body.decode("utf-8", "replace").replace("\x00", "\ufffd")
    try:
        parsed = parse_delivery(body)
    except PayloadError as exc:  # UnknownEventError among them: the intake stores it as ignored
        return Arrival(webhook_id, text, exc, now)
    if isinstance(parsed, TestPing):
        return None
    return Arrival(webhook_id, text, parsed, now)


def _answer_for(outcome: Outcome) -> tuple[Response, int]:
    """The answer to the host for what became of its delivery."""
    if outcome.status == "malformed":
        raise DeliveryRejected(400, f"not a delivery we understand: {outcome.error}") from outcome.error
    if outcome.status == "ignored":
        return _answer("ignored", event=outcome.event[:64])
    if outcome.applied is None:  # a duplicate, or stored for the retry job
        return _answer(outcome.status, 202 if outcome.status == "stored" else 200, webhookId=outcome.webhook_id)
    applied = outcome.applied
    return _answer("applied", webhookId=outcome.webhook_id, responseId=applied.response_id, outcome=applied.status)


def _rules() -> Intake:
    plugin, config = state(), current_app.config
    return Intake.from_settings(plugin.tokens, plugin.hidden_field, plugin.tickets, config)


def _delete_later(app: Flask, response_id: str) -> None:
    """A duplicate this delivery decided: delete it on the host after the answer, when the settings say so."""
    if app.config["DELETE_DUPLICATES_ON_HOST"]:
        hooks: WebhookState = app.extensions[KEY]
        hooks.background(partial(_delete_on_host, app, response_id))


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
