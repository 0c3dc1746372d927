"""Admin API for local segments: saved filters in the host's format, evaluated over the synced contacts."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from plugin.api.auth import require_api_key
from plugin.api.body import json_object
from plugin.db import db
from plugin.models import Segment
from plugin.openapi import error_responses, json_response, param
from plugin.services.contacts import local_segments
from plugin.services.links.links import member_count
from plugin.state import state

bp = Blueprint("local_segments", __name__, url_prefix="/api/personal-links/v1")


def segment_json(row: Segment, members: int) -> dict[str, object]:
    """A segment as the admin API shows it."""
    return {"id": row.id, "title": row.title, "description": row.description, "kind": row.kind,
            "filters": row.filters, "memberCount": members}


@bp.put("/segments/<segment_id>")
@require_api_key
def put_segment(segment_id: str) -> Response:
    """Create or replace a local segment from ``{title, filters}``; its members are evaluated at once."""
    body = json_object("a JSON object with title and filters")
    row = local_segments.save_local_segment(db.session, segment_id, body, state().clock.now())
    db.session.commit()
    return jsonify({"data": segment_json(row, member_count(db.session, row.id))})


@bp.delete("/segments/<segment_id>")
@require_api_key
def delete_segment(segment_id: str) -> Response:
    """Remove a local segment (host and imported segments are managed where they come from)."""
    local_segments.remove_local_segment(db.session, segment_id)
    db.session.commit()
    return jsonify({"data": {"id": segment_id, "deleted": True}})


_FILTERS = {"type": "array", "description": "the host's filter tree: [{id, connector, resource}], attribute and "
                                            "person filters only", "items": {"type": "object"}}
PATHS = {
    "/api/personal-links/v1/segments/{segmentId}": {
        "put": {
            "summary": "Create or replace a local segment (a saved filter) and evaluate its members",
            "parameters": [param("segmentId", "path")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["title", "filters"],
                "properties": {"title": {"type": "string"}, "description": {"type": "string"},
                               "filters": _FILTERS}}}}},
            "responses": {**json_response("the segment", {"type": "object"}), **error_responses(400, 401, 422)}},
        "delete": {
            "summary": "Remove a local segment",
            "parameters": [param("segmentId", "path")],
            "responses": {**json_response("removed", {"type": "object"}), **error_responses(400, 401, 404)}},
    },
}
