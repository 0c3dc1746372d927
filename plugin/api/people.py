"""Admin API listings of whom the sidecar holds: contacts (with segments and state) and a segment's members."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from plugin.api.auth import require_api_key
from plugin.clock import iso
from plugin.db import db
from plugin.openapi import error_responses, json_response, param
from plugin.services.contacts import people
from plugin.services.links.links import get_segment, member_count

bp = Blueprint("people", __name__, url_prefix="/api/personal-links/v1")


def contact_json(row: people.ContactEntry) -> dict[str, Any]:
    """A contact as the listings show it."""
    return {"id": row.host_id, "userId": row.custom_id, "firstName": row.first_name, "lastName": row.last_name,
            "email": row.email, "attributes": row.attributes, "state": row.state,
            "segments": [{"id": segment_id, "title": title} for segment_id, title in row.segments],
            "createdAt": iso(row.created_at), "updatedAt": iso(row.updated_at), "deletedAt": iso(row.deleted_at),
            "suppression": None if row.suppression is None else {
                "id": row.suppression.id, "reason": row.suppression.reason, "note": row.suppression.note,
                "at": iso(row.suppression.at)}}


def page_json(page: people.ContactPage) -> dict[str, Any]:
    """The page's ``data`` and ``meta`` (``next``: the ``after`` of the next page, null on the last)."""
    listing = page.listing
    return {"data": [contact_json(row) for row in page.rows],
            "meta": {"total": page.total, "limit": listing.limit, "offset": listing.skip, "after": listing.after,
                     "next": page.next_after}}


@bp.get("/contacts")
@require_api_key
def list_contacts() -> Response:
    """Contacts by id, with their segments and state; search, filter by state or segment, page."""
    listing = people.parse_listing(request.args)
    segment_id = request.args.get("segment") or None
    return jsonify(page_json(people.list_contacts(db.session, listing, segment_id)))


@bp.get("/segments/<segment_id>/members")
@require_api_key
def segment_members(segment_id: str) -> Response:
    """A segment's members (deleted ones too, with their state), searchable and paged like the contacts."""
    listing = people.parse_listing(request.args)
    segment = get_segment(db.session, segment_id)
    body = page_json(people.list_contacts(db.session, listing, segment.id))
    body["meta"]["segment"] = {"id": segment.id, "title": segment.title, "kind": segment.kind,
                               "memberCount": member_count(db.session, segment.id)}
    return jsonify(body)


_LISTING = [
    param("q", description="contact id, custom id, name or email contains this (case ignored; at most 200)"),
    param("state", schema={"enum": list(people.CONTACT_STATES)}),
    param("limit", schema={"type": "integer", "minimum": 1, "maximum": people.MAX_LIMIT},
          description=f"default {people.DEFAULT_LIMIT}"),
    param("after", description="keyset paging: the meta.next of the previous page (a contact id)"),
    param("skip", schema={"type": "integer", "minimum": 0}, description="offset paging (not with after)"),
]
_PAGE = {"type": "object", "properties": {
    "data": {"type": "array", "items": {"$ref": "#/components/schemas/ContactEntry"}},
    "meta": {"type": "object", "properties": {
        "total": {"type": "integer"}, "limit": {"type": "integer"}, "offset": {"type": "integer"},
        "after": {"type": ["string", "null"]}, "next": {"type": ["string", "null"]},
        "segment": {"type": "object", "description": "segment members only"}}}}}
SCHEMAS = {"ContactEntry": {"type": "object", "properties": {
    "id": {"type": "string", "description": "the host's contact id"}, "userId": {"type": ["string", "null"]},
    "firstName": {"type": ["string", "null"]}, "lastName": {"type": ["string", "null"]},
    "email": {"type": ["string", "null"]}, "attributes": {"type": "object"},
    "state": {"enum": list(people.CONTACT_STATES)},
    "segments": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}}}},
    "createdAt": {"type": "string"}, "updatedAt": {"type": "string"}, "deletedAt": {"type": ["string", "null"]},
    "suppression": {"type": ["object", "null"], "description": "why the contact is suppressed (null: it is not)",
                    "properties": {"id": {"type": "integer"}, "reason": {"enum": ["bounce", "opt-out", "complaint"]},
                                   "note": {"type": ["string", "null"]}, "at": {"type": "string"}}}}}}
PATHS = {
    "/api/personal-links/v1/contacts": {"get": {
        "summary": "Contacts with their segments and state (read-only, paged, searchable)",
        "parameters": [*_LISTING, param("segment", description="members of this segment only")],
        "responses": {**json_response("a page of contacts", _PAGE), **error_responses(401, 404, 422)}}},
    "/api/personal-links/v1/segments/{segmentId}/members": {"get": {
        "summary": "A segment's members with their state (read-only, paged, searchable)",
        "parameters": [param("segmentId", "path"), *_LISTING],
        "responses": {**json_response("a page of members", _PAGE), **error_responses(401, 404, 422)}}},
}
