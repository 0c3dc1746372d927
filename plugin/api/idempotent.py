"""Answering a POST once per ``Idempotency-Key``: the view's effect and its stored answer in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request

from plugin.db import db
from plugin.services.admin import idempotency
from plugin.state import state

Effect = Callable[[], tuple[dict[str, Any], int]]


def answer_once(effect: Effect) -> Response:
    """Run ``effect`` (a JSON body and a status) and commit; with an ``Idempotency-Key`` header, the same key and
    request again replays the first answer (header ``Idempotent-Replayed: true``), another request is a 422."""
    key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
    if key is None:
        body, status = effect()
        db.session.commit()
        return _json(body, status)
    digest = idempotency.fingerprint(request.method, request.path, request.get_data(cache=True))
    replay = idempotency.claim(db.session, key, digest, state().clock.now())
    if replay is not None:
        db.session.rollback()
        response = Response(replay.body, status=replay.status, mimetype="application/json")
        response.headers["Idempotent-Replayed"] = "true"
        return response
    body, status = effect()
    idempotency.answer(db.session, key, status, json.dumps(body, separators=(",", ":")))
    db.session.commit()
    return _json(body, status)


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


IDEMPOTENCY_PARAM = {"name": idempotency.HEADER, "in": "header", "required": False, "schema": {
    "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": "a key of your choosing (e.g. a UUID): the same key and request again answers what the first "
                   "did (header Idempotent-Replayed: true), without doing it twice; the same key with another "
                   "body is a 422; keys are kept 24 hours"}
