"""Outbound events through the admin API: subscriptions (the secret shown once), the delivery log, redeliver."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from plugin.api.auth import require_api_key
from plugin.api.body import json_object
from plugin.clock import iso
from plugin.db import db
from plugin.models import DELIVERY_STATUSES, EventSubscription
from plugin.openapi import error_responses, json_response, param
from plugin.services.events import delivery_log, events, subscriptions
from plugin.services.links.params import parse_choice, parse_int, parse_page
from plugin.state import state
from plugin.tokens import MAX_ID

bp = Blueprint("events", __name__, url_prefix="/api/personal-links/v1/events")


def subscription_json(row: EventSubscription) -> dict[str, Any]:
    """A subscription as the API shows it: never its secret."""
    return {"id": row.id, "url": row.url, "events": list(row.kinds), "description": row.description,
            "status": row.status, "createdAt": iso(row.created_at), "updatedAt": iso(row.updated_at)}


def entry_json(entry: delivery_log.LogEntry) -> dict[str, Any]:
    """One delivery of the log."""
    return {"id": entry.id, "eventId": entry.event_id, "type": entry.kind, "occurredAt": iso(entry.at),
            "subscriptionId": entry.subscription_id, "status": entry.status, "attempts": entry.attempts,
            "lastAttemptAt": iso(entry.last_attempt_at), "lastStatusCode": entry.last_status,
            "lastError": entry.last_error, "nextAttemptAt": iso(entry.next_attempt_at),
            "deliveredAt": iso(entry.delivered_at)}


@bp.post("/subscriptions")
@require_api_key
def create() -> tuple[Response, int]:
    """Subscribe a receiver URL to event kinds; the answer holds the signing secret, this once."""
    body = json_object("a JSON object with url and events")
    created = subscriptions.create_subscription(db.session, body, state().clock.now())
    db.session.commit()
    return jsonify({"data": {**subscription_json(created.subscription), "secret": created.secret}}), 201


@bp.get("/subscriptions")
@require_api_key
def list_all() -> Response:
    """Every subscription, oldest first."""
    return jsonify({"data": [subscription_json(row) for row in subscriptions.list_subscriptions(db.session)]})


@bp.get("/subscriptions/<int:subscription_id>")
@require_api_key
def get_one(subscription_id: int) -> Response:
    """One subscription."""
    return jsonify({"data": subscription_json(subscriptions.get_subscription(db.session, subscription_id))})


@bp.delete("/subscriptions/<int:subscription_id>")
@require_api_key
def delete(subscription_id: int) -> Response:
    """Remove a subscription and its deliveries."""
    subscriptions.delete_subscription(db.session, subscription_id)
    db.session.commit()
    return jsonify({"data": {"id": subscription_id, "deleted": True}})


@bp.post("/subscriptions/<int:subscription_id>/pause")
@require_api_key
def pause(subscription_id: int) -> Response:
    """Stop sending to a subscription; its waiting deliveries wait, new events are not made for it."""
    row = subscriptions.set_paused(db.session, subscription_id, True, state().clock.now())
    db.session.commit()
    return jsonify({"data": subscription_json(row)})


@bp.post("/subscriptions/<int:subscription_id>/resume")
@require_api_key
def resume(subscription_id: int) -> Response:
    """Send to a paused subscription again."""
    row = subscriptions.set_paused(db.session, subscription_id, False, state().clock.now())
    db.session.commit()
    return jsonify({"data": subscription_json(row)})


@bp.get("/deliveries")
@require_api_key
def deliveries() -> Response:
    """The delivery log, newest first; by subscription, status or event id."""
    subscription_id = parse_int("subscription", request.args.get("subscription"), 1, MAX_ID)
    status = parse_choice("status", request.args.get("status"), DELIVERY_STATUSES)
    limit, skip = parse_page(request.args, 500, 50)
    total, rows = delivery_log.list_deliveries(db.session, subscription_id=subscription_id, status=status,
                                               event_id=request.args.get("eventId") or None, limit=limit,
                                               skip=skip)
    return jsonify({"data": [entry_json(row) for row in rows],
                    "meta": {"total": total, "limit": limit, "offset": skip}})


@bp.get("/deliveries/<int:delivery_id>")
@require_api_key
def delivery(delivery_id: int) -> Response:
    """One delivery of the log."""
    return jsonify({"data": entry_json(delivery_log.get_delivery(db.session, delivery_id))})


@bp.post("/deliveries/<int:delivery_id>/redeliver")
@require_api_key
def redeliver(delivery_id: int) -> Response:
    """Send a delivery again at the next drain (same event id), retried for a new window."""
    window = timedelta(hours=int(current_app.config["EVENTS_RETRY_HOURS"]))
    entry = delivery_log.redeliver(db.session, delivery_id, state().clock.now(), window)
    db.session.commit()
    return jsonify({"data": entry_json(entry)})


_ID = {"type": "integer"}
_SUBSCRIPTION = {"type": "object", "properties": {
    "id": _ID, "url": {"type": "string", "format": "uri"},
    "events": {"type": "array", "items": {"enum": list(events.KINDS)}},
    "description": {"type": ["string", "null"]}, "status": {"enum": ["active", "paused"]},
    "createdAt": {"type": "string"}, "updatedAt": {"type": "string"}}}
_ENTRY = {"type": "object", "properties": {
    "id": _ID, "eventId": {"type": "string"}, "type": {"enum": list(events.KINDS)},
    "occurredAt": {"type": "string"}, "subscriptionId": _ID, "status": {"enum": list(DELIVERY_STATUSES)},
    "attempts": _ID, "lastAttemptAt": {"type": ["string", "null"]}, "lastStatusCode": {"type": ["integer", "null"]},
    "lastError": {"type": ["string", "null"]}, "nextAttemptAt": {"type": ["string", "null"]},
    "deliveredAt": {"type": ["string", "null"]}}}
_ONE = {"type": "object", "properties": {"data": {"$ref": "#/components/schemas/EventSubscription"}}}
_SUBSCRIPTION_ID = param("subscriptionId", "path", _ID)
_DELIVERY_ID = param("deliveryId", "path", _ID)
_ENTRY_ONE = json_response("the delivery", {"type": "object", "properties": {
    "data": {"$ref": "#/components/schemas/EventDelivery"}}})
SCHEMAS = {"EventSubscription": _SUBSCRIPTION, "EventDelivery": _ENTRY}
_PREFIX = "/api/personal-links/v1/events"
PATHS = {
    f"{_PREFIX}/subscriptions": {
        "post": {
            "summary": "Subscribe a receiver to event kinds; the answer holds its whsec_ signing secret, once",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["url", "events"], "additionalProperties": False, "properties": {
                    "url": {"type": "string", "description": "http:// or https://, no credentials or fragment"},
                    "events": {"type": "array", "minItems": 1, "items": {"enum": list(events.KINDS)}},
                    "description": {"type": "string", "maxLength": subscriptions.MAX_DESCRIPTION}}}}}},
            "responses": {"201": {"description": "the subscription and its secret (never shown again)",
                                  "content": {"application/json": {"schema": {"type": "object", "properties": {
                                      "data": {"allOf": [{"$ref": "#/components/schemas/EventSubscription"},
                                                         {"type": "object", "properties": {
                                                             "secret": {"type": "string"}}}]}}}}}},
                          **error_responses(400, 401, 422)}},
        "get": {"summary": "Every event subscription (without secrets)",
                "responses": {**json_response("subscriptions", {"type": "object", "properties": {"data": {
                    "type": "array", "items": {"$ref": "#/components/schemas/EventSubscription"}}}}),
                    **error_responses(401)}},
    },
    f"{_PREFIX}/subscriptions/{{subscriptionId}}": {
        "get": {"summary": "One event subscription", "parameters": [_SUBSCRIPTION_ID],
                "responses": {**json_response("the subscription", _ONE), **error_responses(401, 404)}},
        "delete": {"summary": "Remove a subscription and its deliveries", "parameters": [_SUBSCRIPTION_ID],
                   "responses": {**json_response("removed", {"type": "object"}), **error_responses(401, 404)}},
    },
    f"{_PREFIX}/subscriptions/{{subscriptionId}}/pause": {"post": {
        "summary": "Pause a subscription: nothing is sent to it, events meanwhile are not kept for it",
        "parameters": [_SUBSCRIPTION_ID],
        "responses": {**json_response("the subscription", _ONE), **error_responses(401, 404)}}},
    f"{_PREFIX}/subscriptions/{{subscriptionId}}/resume": {"post": {
        "summary": "Resume a paused subscription", "parameters": [_SUBSCRIPTION_ID],
        "responses": {**json_response("the subscription", _ONE), **error_responses(401, 404)}}},
    f"{_PREFIX}/deliveries": {"get": {
        "summary": "The delivery log of outbound events, newest first",
        "parameters": [param("subscription", schema=_ID), param("status", schema={"enum": list(DELIVERY_STATUSES)}),
                       param("eventId"), param("limit", schema={"type": "integer", "minimum": 1, "maximum": 500}),
                       param("skip", schema={"type": "integer", "minimum": 0})],
        "responses": {**json_response("deliveries", {"type": "object", "properties": {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/EventDelivery"}},
            "meta": {"$ref": "#/components/schemas/Meta"}}}), **error_responses(401, 422)}}},
    f"{_PREFIX}/deliveries/{{deliveryId}}": {"get": {
        "summary": "One delivery of the log", "parameters": [_DELIVERY_ID],
        "responses": {**_ENTRY_ONE, **error_responses(401, 404)}}},
    f"{_PREFIX}/deliveries/{{deliveryId}}/redeliver": {"post": {
        "summary": "Send a delivery again at the next drain (same event id, a new retry window)",
        "parameters": [_DELIVERY_ID], "responses": {**_ENTRY_ONE, **error_responses(401, 404)}}},
}
