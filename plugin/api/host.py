"""Admin API for the survey host: the host check (what works with this host and key, and what to do)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from plugin.api.auth import require_api_key
from plugin.errors import InvalidInput
from plugin.manifest import manifest
from plugin.openapi import error_responses, json_response, param
from plugin.services.host import host_check
from plugin.state import state

bp = Blueprint("host", __name__, url_prefix="/api/personal-links/v1")

MAX_SURVEYS = 50


def _survey_ids() -> list[str] | None:
    ids = request.args.getlist("survey")
    if len(ids) > MAX_SURVEYS:
        raise InvalidInput("survey", f"at most {MAX_SURVEYS} surveys at once")
    for survey_id in ids:
        if not survey_id or len(survey_id) > 255 or not survey_id.isprintable():
            raise InvalidInput("survey", "must be a survey id of 1 to 255 printable characters")
    return ids or None


@bp.get("/host/check")
@require_api_key
def check() -> Response:
    """The host check report; 200 whatever it finds (``ok`` says whether something needed is missing)."""
    survey_ids = _survey_ids()
    report = host_check.check_configured(current_app, manifest(), state().hidden_field, survey_ids,
                                         now=state().clock.now())
    return jsonify({"data": report.as_json()})


_LINE = {"type": "object", "properties": {
    "name": {"type": "string"}, "status": {"enum": ["ok", "warn", "fail", "info"]}, "detail": {"type": "string"},
    "todo": {"type": "string", "description": "what to do; empty when the line is ok"}}}
PATHS = {
    "/api/personal-links/v1/host/check": {
        "get": {
            "summary": "What works with the survey host and its API key, each line with what to do",
            "description": "Host reachable and its version; the key's permission; Enterprise contacts; each "
                           "survey's type, status, hidden field and single-use; our webhook, its triggers, URL and "
                           "secret; the webhook URL reachable from the sidecar. `ok` is false when a line fails.",
            "parameters": [param("survey", schema={"type": "array", "items": {"type": "string"}, "maxItems": 50},
                                 description="surveys to check (repeatable); default those in use (installed, or "
                                             "with links that still open), the others listed as info")],
            "responses": {**json_response("the report", {"type": "object", "properties": {"data": {
                "type": "object", "properties": {"ok": {"type": "boolean"},
                                                 "lines": {"type": "array", "items": _LINE}}}}}),
                          **error_responses(401, 422)}},
    },
}
