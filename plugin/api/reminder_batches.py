"""Reminder batches: pick the contacts due now (claimed as pending reminders), then confirm or release them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from plugin.api.auth import require_api_key
from plugin.api.body import json_object
from plugin.api.idempotent import IDEMPOTENCY_PARAM, answer_once
from plugin.clock import iso
from plugin.db import db
from plugin.errors import InvalidInput, NotFound
from plugin.models import ReminderBatch
from plugin.openapi import error_responses, json_response, param
from plugin.services.followup import reminder_batches, reminders
from plugin.services.followup.reminder_batches import BatchView
from plugin.services.links import links
from plugin.state import state
from plugin.tokens import MAX_ID

bp = Blueprint("reminder_batches", __name__, url_prefix="/api/personal-links/v1")
CREATE_FIELDS = {"minGapHours", "maxReminders", "stopped", "limit", "channel", "segment"}
DEFAULT_LIMIT = 100


def batch_json(found: BatchView) -> dict[str, Any]:
    """A batch as the API shows it, each contact with the personal link to send."""
    batch = found.batch
    return {"id": batch.id, "surveyId": batch.survey_id, "status": batch.status, "channel": batch.channel,
            "cadence": batch.cadence, "createdAt": iso(batch.created_at), "expiresAt": iso(batch.expires_at),
            "closedAt": iso(batch.closed_at), "counts": found.counts(),
            "contacts": [{"contactId": row.contact_host_id, "userId": row.custom_id, "firstName": row.first_name,
                          "lastName": row.last_name, "email": row.email, "linkId": row.link_id,
                          "surveyUrl": None if row.link_id is None else state().link_url(row.link_id,
                                                                                          batch.survey_id),
                          "status": row.status, "remindersSent": row.reminders_sent,
                          "lastContactedAt": iso(row.last_contacted_at)} for row in found.contacts]}


def _batch(survey_id: str, batch_id: str) -> ReminderBatch:
    """The batch the path names; 404 for an unknown survey, an unknown or malformed id, another survey's batch."""
    links.get_survey(db.session, survey_id)
    if not batch_id.isascii() or not batch_id.isdigit() or not 1 <= int(batch_id) <= MAX_ID:
        raise NotFound("batchId", f"reminder batch {batch_id[:40]!r} not found")
    return reminder_batches.get_batch(db.session, int(batch_id), survey_id)


def _optional_object(what: str) -> dict[str, Any]:
    """The JSON body, or an empty object when there is none."""
    return json_object(what) if request.get_data(cache=True).strip() else {}


@bp.post("/surveys/<survey_id>/reminder-batches")
@require_api_key
def create(survey_id: str) -> Response:
    """Claim the contacts due now as a batch of pending reminders and return them with their links."""
    def effect() -> tuple[dict[str, Any], int]:
        body = _optional_object("a JSON object (minGapHours, maxReminders, stopped, limit, channel, segment)")
        unknown = sorted(set(body) - CREATE_FIELDS)
        if unknown:
            raise InvalidInput(unknown[0][:40], f"unknown field; known: {', '.join(sorted(CREATE_FIELDS))}")
        limit = body.get("limit", DEFAULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise InvalidInput("limit", f"must be a whole number between 1 and {reminder_batches.MAX_BATCH}")
        segment = body.get("segment")
        if segment is not None and not isinstance(segment, str):
            raise InvalidInput("segment", "must be a segment id")
        survey = links.get_survey(db.session, survey_id)
        timeout = timedelta(minutes=int(current_app.config["REMINDER_BATCH_TIMEOUT_MINUTES"]))
        found = reminder_batches.create_batch(
            db.session, survey.id, reminders.parse_cadence(body), state().clock.now(), limit=limit,
            channel=body.get("channel", "email"), timeout=timeout, actor=g.actor, segment_id=segment or None)
        return {"data": batch_json(found)}, 201

    return answer_once(effect)


@bp.get("/surveys/<survey_id>/reminder-batches/<batch_id>")
@require_api_key
def show(survey_id: str, batch_id: str) -> Response:
    """A batch's state and its contacts."""
    return jsonify({"data": batch_json(reminder_batches.view(db.session, _batch(survey_id, batch_id)))})


@bp.post("/surveys/<survey_id>/reminder-batches/<batch_id>/confirm")
@require_api_key
def confirm(survey_id: str, batch_id: str) -> Response:
    """The sends happened (all, or those listed in ``sent``): contacts made; the others are released."""
    body = _optional_object("a JSON object, optionally with 'sent': the contact ids whose sends succeeded")
    sent = body.get("sent")
    if sent is not None and not isinstance(sent, list):
        raise InvalidInput("sent", "must be a list of contact ids")
    found = reminder_batches.confirm(db.session, _batch(survey_id, batch_id), state().clock.now(), sent)
    db.session.commit()
    return jsonify({"data": batch_json(found)})


@bp.post("/surveys/<survey_id>/reminder-batches/<batch_id>/release")
@require_api_key
def release(survey_id: str, batch_id: str) -> Response:
    """The sends failed: the batch's contacts are due again (no contact made)."""
    found = reminder_batches.release(db.session, _batch(survey_id, batch_id), state().clock.now())
    db.session.commit()
    return jsonify({"data": batch_json(found)})


_IDS = [param("surveyId", "path"), param("batchId", "path", {"type": "string", "pattern": "^[0-9]+$"})]
_BATCH = {"type": "object", "properties": {"data": {"type": "object", "properties": {
    "id": {"type": "integer"}, "surveyId": {"type": "string"},
    "status": {"enum": ["open", "confirmed", "released", "expired"]}, "channel": {"type": "string"},
    "cadence": {"type": "object"}, "createdAt": {"type": "string"},
    "expiresAt": {"type": "string", "description": "released by the scheduled job after this, unless confirmed"},
    "closedAt": {"type": ["string", "null"]},
    "counts": {"type": "object", "properties": {k: {"type": "integer"} for k in ("pending", "sent", "failed")}},
    "contacts": {"type": "array", "items": {"type": "object", "properties": {
        "contactId": {"type": "string"}, "email": {"type": ["string", "null"]}, "linkId": {"type": ["integer", "null"]},
        "surveyUrl": {"type": ["string", "null"]}, "status": {"enum": ["pending", "sent", "failed"]},
        "remindersSent": {"type": "integer"}, "lastContactedAt": {"type": ["string", "null"]}}}}}}}}
PATHS = {
    "/api/personal-links/v1/surveys/{surveyId}/reminder-batches": {"post": {
        "summary": "Claim the contacts due for a reminder now, with their personal links",
        "description": "Due: a live link, no finished response (checked in the claiming transaction), the cadence "
                       "met, in no open batch. Two overlapping calls never return the same contact. Send, then "
                       "confirm or release; an open batch is released on its own after "
                       "PERSONAL_LINKS_REMINDER_BATCH_TIMEOUT_MINUTES.",
        "parameters": [param("surveyId", "path"), IDEMPOTENCY_PARAM],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False, "properties": {
                "minGapHours": {"type": "integer", "minimum": 0, "maximum": reminders.MAX_GAP_HOURS},
                "maxReminders": {"type": "integer", "minimum": 0, "maximum": reminders.MAX_REMINDERS},
                "stopped": {"type": "boolean"}, "segment": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": reminder_batches.MAX_BATCH,
                          "default": DEFAULT_LIMIT},
                "channel": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,31}$", "default": "email"}}}}}},
        "responses": {"201": {"description": "the open batch", "content": {"application/json": {"schema": _BATCH}}},
                      **error_responses(401, 404, 409, 413, 422)}}},
    "/api/personal-links/v1/surveys/{surveyId}/reminder-batches/{batchId}": {"get": {
        "summary": "A reminder batch's state and contacts",
        "parameters": _IDS, "responses": {**json_response("the batch", _BATCH), **error_responses(401, 404)}}},
    "/api/personal-links/v1/surveys/{surveyId}/reminder-batches/{batchId}/confirm": {"post": {
        "summary": "The batch's sends happened: its reminders become contacts made",
        "description": "With `sent` only those contacts' sends count; the others are released (due again). "
                       "Confirming again changes nothing; a released batch is a 409.",
        "parameters": _IDS,
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"sent": {"type": "array", "items": {"type": "string"},
                                                      "maxItems": reminder_batches.MAX_BATCH}}}}}},
        "responses": {**json_response("the batch", _BATCH), **error_responses(401, 404, 409, 413, 422)}}},
    "/api/personal-links/v1/surveys/{surveyId}/reminder-batches/{batchId}/release": {"post": {
        "summary": "The batch's sends failed: its contacts are due again, no contact made",
        "description": "Releasing again changes nothing; a confirmed batch is a 409.",
        "parameters": _IDS,
        "responses": {**json_response("the batch", _BATCH), **error_responses(401, 404, 409)}}},
}
