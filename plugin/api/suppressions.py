"""The suppressions API: record (one or a batch, or a CSV file), list and lift bounces, opt-outs and complaints."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from plugin.api.auth import require_api_key
from plugin.api.body import json_object
from plugin.clock import iso
from plugin.db import db
from plugin.errors import InvalidInput
from plugin.models import Suppression
from plugin.openapi import error_responses, json_response, param
from plugin.services.followup import suppressions
from plugin.services.followup.suppression_import import MAX_REPORTED, import_csv
from plugin.services.links.params import parse_bool, parse_choice, parse_int
from plugin.state import state
from plugin.tokens import MAX_ID

bp = Blueprint("suppressions", __name__, url_prefix="/api/personal-links/v1")


def suppression_json(row: Suppression, contact_host_id: str | None) -> dict[str, Any]:
    """A suppression as the API shows it."""
    return {"id": row.id, "contactId": contact_host_id, "email": row.email, "reason": row.reason, "note": row.note,
            "at": iso(row.at), "createdAt": iso(row.created_at), "createdBy": row.created_by,
            "removedAt": iso(row.removed_at), "removedBy": row.removed_by}


def _items(body: dict[str, Any]) -> tuple[list[Any], str]:
    """The entries of a body: ``{"suppressions": [...]}`` (a batch) or one entry; and the fields' prefix."""
    if "suppressions" not in body:
        return [body], ""
    items = body["suppressions"]
    if not isinstance(items, list) or not items:
        raise InvalidInput("suppressions", "must be a non-empty list")
    if len(items) > suppressions.MAX_BATCH:
        raise InvalidInput("suppressions", f"at most {suppressions.MAX_BATCH} in one request")
    return items, "suppressions[{}]."


def _rows(rows: list[Suppression]) -> list[dict[str, Any]]:
    return [suppression_json(item.row, item.contact_host_id) for item in suppressions.listed(db.session, rows)]


@bp.post("/suppressions")
@require_api_key
def add() -> tuple[Response, int]:
    """Suppress contacts or addresses: all entries are checked first, then stored together (or none)."""
    items, prefix = _items(json_object("a JSON object with reason and contactId or email, or suppressions: [...]"))
    now = state().clock.now()
    entries = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput(prefix.format(index).rstrip("."), "must be an object")
        entries.append(suppressions.entry(db.session, item, now, prefix.format(index)))
    stored = [suppressions.add(db.session, entry, now, g.actor) for entry in entries]
    db.session.commit()
    added = sum(1 for _, new in stored if new)
    return jsonify({"data": _rows([row for row, _ in stored]),
                    "meta": {"added": added, "already": len(stored) - added}}), 201 if added else 200


@bp.post("/suppressions/import")
@require_api_key
def import_file() -> Response:
    """Suppressions from a CSV body (text/csv); every bad row named by its line, and then none stored."""
    if request.mimetype not in ("text/csv", "text/plain"):
        raise InvalidInput("Content-Type", "send the file as text/csv")
    body = io.BytesIO(request.get_data(cache=False))  # at most MAX_CONTENT_LENGTH (else 413)
    result = import_csv(db.session, body, state().clock.now(), g.actor)
    db.session.commit()
    return jsonify({"data": {"added": result.added, "already": result.already}})


@bp.get("/suppressions")
@require_api_key
def list_suppressions() -> Response:
    """Suppressions in force (``removed=true``: lifted ones too), oldest first, filtered and paged by cursor."""
    args = request.args
    limit = parse_int("limit", args.get("limit"), 1, 1000, 100)
    after = parse_int("after", args.get("after"), 0, MAX_ID)
    email = args.get("email") or None
    rows, next_cursor = suppressions.list_suppressions(
        db.session, host_id=args.get("contactId") or None, email=email,
        reason=parse_choice("reason", args.get("reason"), suppressions.REASONS),
        removed=parse_bool("removed", args.get("removed")), limit=limit, after=after)
    return jsonify({"data": [suppression_json(item.row, item.contact_host_id) for item in rows],
                    "meta": {"limit": limit, "nextCursor": None if next_cursor is None else str(next_cursor)}})


@bp.delete("/suppressions/<int:suppression_id>")
@require_api_key
def remove(suppression_id: int) -> Response:
    """Lift one suppression; the row stays with who lifted it and when."""
    row = suppressions.remove(db.session, suppression_id, state().clock.now(), g.actor)
    db.session.commit()
    return jsonify({"data": _rows([row])[0]})


@bp.delete("/suppressions")
@require_api_key
def remove_matching() -> Response:
    """Lift every suppression in force of a contact or an address (a body like POST's, batch allowed)."""
    items, prefix = _items(json_object("a JSON object with contactId or email, or suppressions: [...]"))
    now = state().clock.now()
    lifted: list[Suppression] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput(prefix.format(index).rstrip("."), "must be an object")
        lifted += suppressions.remove_matching(db.session, item, now, g.actor, prefix.format(index))
    db.session.commit()
    return jsonify({"data": _rows(lifted),
                    "meta": {"removed": len(lifted)}})


_REASON = {"enum": list(suppressions.REASONS)}
_ENTRY = {"type": "object", "properties": {
    "contactId": {"type": "string", "description": "the host's contact id (its address is recorded too)"},
    "email": {"type": "string", "maxLength": suppressions.MAX_EMAIL, "description": "stored lower-cased"},
    "reason": _REASON, "note": {"type": "string", "maxLength": suppressions.MAX_NOTE},
    "at": {"type": "string", "description": "ISO-8601, when it happened; default now; not in the future"}},
    "required": ["reason"]}
_MATCH = {"type": "object", "properties": {"contactId": {"type": "string"}, "email": {"type": "string"}}}
SCHEMAS = {"Suppression": {"type": "object", "properties": {
    "id": {"type": "integer"}, "contactId": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]},
    "reason": _REASON, "note": {"type": ["string", "null"]}, "at": {"type": "string"},
    "createdAt": {"type": "string"}, "createdBy": {"type": "string"}, "removedAt": {"type": ["string", "null"]},
    "removedBy": {"type": ["string", "null"]}}}}
_ROWS = {"type": "array", "items": {"$ref": "#/components/schemas/Suppression"}}


def _body(one: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"oneOf": [one, {
        "type": "object", "required": ["suppressions"], "properties": {"suppressions": {
            "type": "array", "minItems": 1, "maxItems": suppressions.MAX_BATCH, "items": one}}}]}}}}


PATHS = {
    "/api/personal-links/v1/suppressions": {
        "post": {
            "summary": "Suppress contacts or addresses (bounce, opt-out, complaint): one, or a batch of up to 1000",
            "description": "All entries are checked before any is stored. An entry already covered by a "
                           "suppression in force is not stored again (`meta.already`); 201 when one is new.",
            "requestBody": _body(_ENTRY),
            "responses": {"201": json_response("stored", {})["200"], **json_response("all were already in force", {
                "type": "object", "properties": {"data": _ROWS, "meta": {"type": "object", "properties": {
                    "added": {"type": "integer"}, "already": {"type": "integer"}}}}}),
                **error_responses(401, 404, 413, 422)}},
        "get": {
            "summary": "Suppressions in force (removed=true: lifted ones too), oldest first",
            "parameters": [param("contactId", description="of this contact (by its row or its address)"),
                           param("email"), param("reason", schema=_REASON),
                           param("removed", schema={"type": "boolean"}),
                           param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
                           param("after", schema={"type": "string", "pattern": "^[0-9]+$"},
                                 description="the previous page's meta.nextCursor")],
            "responses": {**json_response("a page", {"type": "object", "properties": {"data": _ROWS, "meta": {
                "type": "object", "properties": {"limit": {"type": "integer"},
                                                 "nextCursor": {"type": ["string", "null"]}}}}}),
                **error_responses(401, 404, 422)}},
        "delete": {
            "summary": "Lift every suppression in force of a contact or an address (batch allowed)",
            "description": "The rows stay, with removedAt and removedBy; an audit row each.",
            "requestBody": _body(_MATCH),
            "responses": {**json_response("the lifted suppressions", {"type": "object", "properties": {
                "data": _ROWS, "meta": {"type": "object", "properties": {"removed": {"type": "integer"}}}}}),
                **error_responses(401, 404, 422)}}},
    "/api/personal-links/v1/suppressions/{suppressionId}": {"delete": {
        "summary": "Lift one suppression (the row stays, with who lifted it and when)",
        "parameters": [param("suppressionId", "path", {"type": "integer"})],
        "responses": {**json_response("the suppression", {"type": "object", "properties": {
            "data": {"$ref": "#/components/schemas/Suppression"}}}), **error_responses(401, 404)}}},
    "/api/personal-links/v1/suppressions/import": {"post": {
        "summary": "Suppressions from a CSV file: contactId and/or email, reason, at, note",
        "description": f"Every bad row is named by its line in `error.details` (the first {MAX_REPORTED}), and "
                       "then nothing is stored. The body is limited to PERSONAL_LINKS_MAX_CONTENT_LENGTH (413); "
                       "larger files: the CLI, personal-links suppressions import.",
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
        "responses": {**json_response("what was stored", {"type": "object", "properties": {"data": {
            "type": "object", "properties": {"added": {"type": "integer"}, "already": {"type": "integer"}}}}}),
            **error_responses(401, 413, 422)}}},
}
