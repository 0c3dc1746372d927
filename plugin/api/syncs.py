"""Admin API for syncs: the last runs, and running one now."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request

from plugin.api.auth import require_api_key
from plugin.db import db
from plugin.models import SyncRun
from plugin.openapi import error_responses, json_response, param
from plugin.services.host import sync
from plugin.services.host.adapters import configured
from plugin.services.links.params import parse_int
from plugin.state import state

bp = Blueprint("syncs", __name__, url_prefix="/api/personal-links/v1")


@bp.get("/syncs")
@require_api_key
def list_syncs() -> Response:
    """The latest sync runs, newest first."""
    limit = parse_int("limit", request.args.get("limit"), 1, 100, default=20)
    return jsonify({"data": [sync.run_json(run) for run in sync.recent_runs(db.session, limit)]})


@bp.post("/syncs")
@require_api_key
def run_sync() -> Response:
    """Sync contacts, segments and surveys now; a host failure answers 502 and leaves the data as it was."""
    adapters = configured(current_app)
    clock = state().clock
    result = sync.sync(db.session, adapters.contact_source, adapters.survey_host, clock.now(), g.actor,
                       finished=clock.now)
    run = db.session.get(SyncRun, result.run_id)
    assert run is not None  # sync() committed it
    return jsonify({"data": sync.run_json(run)})


_RUN = {"type": "object", "properties": {
    "id": {"type": "integer"}, "status": {"enum": ["running", "succeeded", "failed"]},
    "actor": {"type": "string"}, "startedAt": {"type": "string"}, "finishedAt": {"type": ["string", "null"]},
    "added": {"type": "integer"}, "changed": {"type": "integer"}, "removed": {"type": "integer"},
    "segments": {"type": "integer"}, "surveys": {"type": "integer"}, "error": {"type": ["string", "null"]}}}
PATHS = {
    "/api/personal-links/v1/syncs": {
        "get": {
            "summary": "The latest sync runs, newest first",
            "parameters": [param("limit", schema={"type": "integer", "minimum": 1, "maximum": 100})],
            "responses": {**json_response("runs", {"type": "object", "properties": {
                "data": {"type": "array", "items": _RUN}}}), **error_responses(401, 422)}},
        "post": {
            "summary": "Sync contacts, segments and surveys from the configured adapters now",
            "responses": {**json_response("the run", {"type": "object", "properties": {"data": _RUN}}),
                          **error_responses(400, 401, 422, 502)}},
    },
}
