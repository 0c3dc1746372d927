"""The webhook inbox through the admin API: deliveries by status (dead ones are flagged for the admin)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from plugin.api.auth import require_api_key
from plugin.clock import iso
from plugin.db import db
from plugin.errors import NotFound, Refused
from plugin.openapi import error_responses, json_response, param
from plugin.services.links.params import parse_choice, parse_page
from webhooks import store
from webhooks.models import INBOX_STATUSES, InboxDelivery

bp = Blueprint("inbox", __name__, url_prefix="/api/personal-links/v1/webhooks/deliveries")


def delivery_json(row: InboxDelivery) -> dict[str, Any]:
    """A stored delivery, without its body (it may hold answers)."""
    return {"id": row.id, "webhookId": row.webhook_id, "event": row.event, "status": row.status,
            "receivedAt": iso(row.received_at), "attempts": row.attempts, "lastError": row.last_error,
            "appliedAt": iso(row.applied_at), "nextAttemptAt": iso(row.next_attempt_at)}


@bp.get("")
@require_api_key
def deliveries() -> Response:
    """Stored deliveries, newest first, filtered by status (``dead``: the retry job gave up on them)."""
    status = parse_choice("status", request.args.get("status"), INBOX_STATUSES)
    limit, skip = parse_page(request.args, 500, 50)
    total, rows = store.deliveries(db.session, status, limit, skip)
    return jsonify({"data": [delivery_json(row) for row in rows],
                    "meta": {"total": total, "limit": limit, "offset": skip}})


@bp.post("/<int:delivery_id>/requeue")
@require_api_key
def requeue(delivery_id: int) -> Response:
    """Queue a dead or failed delivery for the retry job again, with its attempts reset."""
    row, changed = store.requeue(db.session, delivery_id)
    db.session.commit()
    if row is None:
        raise NotFound("delivery")
    if not changed:
        raise Refused("status", f"a {row.status} delivery cannot be queued again")
    return jsonify({"data": delivery_json(row)})


_LIST = {"type": "object", "properties": {"data": {"type": "array", "items": {"type": "object"}},
                                          "meta": {"$ref": "#/components/schemas/Meta"}}}
PATHS = {
    "/api/personal-links/v1/webhooks/deliveries": {"get": {
        "summary": "Stored webhook deliveries by status (dead: flagged for the admin)",
        "parameters": [param("status", schema={"enum": list(INBOX_STATUSES)}),
                       param("limit", schema={"type": "integer", "minimum": 1, "maximum": 500}),
                       param("skip", schema={"type": "integer", "minimum": 0})],
        "responses": {**json_response("deliveries", _LIST), **error_responses(401, 422)}}},
    "/api/personal-links/v1/webhooks/deliveries/{deliveryId}/requeue": {"post": {
        "summary": "Queue a dead or failed delivery for the retry job again",
        "parameters": [param("deliveryId", "path", {"type": "integer"})],
        "responses": {**json_response("the delivery", {"type": "object"}), **error_responses(400, 401, 404)}}},
}
