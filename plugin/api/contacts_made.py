"""Recording contacts made (invitations and reminders sent) through the API: a JSON batch, or a mailer's send log."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, g, request

from plugin.api.auth import require_api_key
from plugin.api.body import json_object
from plugin.api.idempotent import IDEMPOTENCY_PARAM, answer_once
from plugin.db import db
from plugin.openapi import error_responses, param
from plugin.services.followup import contacts_made, send_log
from plugin.state import state

bp = Blueprint("contacts_made", __name__, url_prefix="/api/personal-links/v1")


@bp.post("/contacts-made")
@require_api_key
def record() -> Response:
    """Record up to 1000 invitations or reminders sent; all or none."""
    def effect() -> tuple[dict[str, Any], int]:
        now = state().clock.now()
        entries = contacts_made.parse_entries(json_object("a JSON object with a list 'contacts'"), now)
        count = contacts_made.record(db.session, entries, now, g.actor, "api")
        return {"data": {"recorded": count}}, 201

    return answer_once(effect)


@bp.post("/contacts-made.csv")
@require_api_key
def import_csv() -> Response:
    """Record a mailer's send log (CSV body); every row checked, all recorded or none."""
    def effect() -> tuple[dict[str, Any], int]:
        count = send_log.import_send_log(
            db.session, io.BytesIO(request.get_data(cache=True)), state().clock.now(), g.actor,
            survey_id=request.args.get("survey") or None, kind=request.args.get("kind") or None,
            channel=request.args.get("channel") or None)
        return {"data": {"recorded": count}}, 201

    return answer_once(effect)


_ENTRY = {"type": "object", "required": ["surveyId", "kind", "channel"], "properties": {
    "contactId": {"type": "string", "description": "the host's contact id (or give email)"},
    "email": {"type": "string", "description": "the contact's e-mail, when it names one contact"},
    "surveyId": {"type": "string"}, "kind": {"enum": list(contacts_made.KINDS)},
    "channel": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,31}$", "description": "e.g. email, sms, other"},
    "sentAt": {"type": "string", "format": "date-time", "description": "default now; not in the future"}}}
_RECORDED = {"201": {"description": "recorded", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"data": {"type": "object", "properties": {"recorded": {"type": "integer"}}}}}}}}}
PATHS = {
    "/api/personal-links/v1/contacts-made": {"post": {
        "summary": "Record invitations and reminders sent (contacts made), all or none",
        "description": "Each is recorded against the link the contact holds to the survey. Every entry is checked "
                       "first: one bad entry refuses the whole body (422, each problem named by its index).",
        "parameters": [IDEMPOTENCY_PARAM],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["contacts"], "properties": {"contacts": {
                "type": "array", "minItems": 1, "maxItems": contacts_made.MAX_ENTRIES, "items": _ENTRY}}}}}},
        "responses": {**_RECORDED, **error_responses(401, 409, 413, 422)}}},
    "/api/personal-links/v1/contacts-made.csv": {"post": {
        "summary": "Record a mailer's send log (CSV), all rows or none",
        "description": "Columns (case, spaces, _ and - ignored): contact id (or contactId, id) or email; survey; "
                       "kind; channel; sent at (or sentAt, timestamp). survey, kind and channel may instead be "
                       "given once as query parameters. Bad rows are reported by line (422), nothing recorded.",
        "parameters": [IDEMPOTENCY_PARAM, param("survey"), param("kind", schema={"enum": list(contacts_made.KINDS)}),
                       param("channel")],
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
        "responses": {**_RECORDED, **error_responses(401, 409, 413, 422)}}},
}
