"""The host's Enterprise contact-links API, same paths and shapes, backed by stored, revocable links."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from plugin.api.auth import require_api_key
from plugin.clock import iso
from plugin.db import db
from plugin.errors import InvalidInput
from plugin.openapi import error_responses, json_response, param
from plugin.services.host.adapters import survey_host_provider
from plugin.services.links import issuing, links
from plugin.services.links.params import parse_page
from plugin.state import state

bp = Blueprint("contact_links", __name__, url_prefix="/api/v2/management/surveys/<survey_id>/contact-links")

MAX_ATTRIBUTE_KEYS = 20
NAMED_FIELDS = {"userId": "custom_id", "firstName": "first_name", "lastName": "last_name", "email": "email"}


@bp.get("/contacts/<contact_id>")
@require_api_key
def contact_link(survey_id: str, contact_id: str) -> Response:
    """One contact's link: the current one if live, a new one otherwise (or with rotate)."""
    issued = issuing.issue_contact(db.session, survey_id, contact_id, request.args, state().clock.now(), g.actor,
                                   survey_host_provider(current_app))
    db.session.commit()
    row = next(links.iter_link_rows(db.session, issued.rows))
    return jsonify({"data": {"surveyUrl": state().link_url(row.link_id, row.survey_id),
                             "expiresAt": iso(row.expires_at), "linkId": row.link_id, "state": row.state},
                    "meta": {"issued": issued.report.as_json()}})


def attribute_keys(text: str | None) -> list[str]:
    """The attributeKeys parameter: at most 20 comma-separated keys."""
    keys = [key.strip() for key in (text or "").split(",") if key.strip()]
    if len(keys) > MAX_ATTRIBUTE_KEYS:
        raise InvalidInput("attributeKeys", f"at most {MAX_ATTRIBUTE_KEYS} keys")
    return keys


def attributes_of(row: links.LinkRow, keys: list[str]) -> dict[str, Any]:
    """The requested attributes of a row's contact; named fields are attributes on the host."""
    found: dict[str, Any] = {}
    for key in keys:
        value = getattr(row, NAMED_FIELDS[key]) if key in NAMED_FIELDS else row.attributes.get(key)
        if value is not None:
            found[key] = value
    return found


@bp.get("/segments/<segment_id>")
@require_api_key
def segment_links(survey_id: str, segment_id: str) -> Response:
    """A page of a segment's links, newest contact first, issuing links for that page where needed."""
    limit, skip = parse_page(request.args, current_limit(), 50)
    keys = attribute_keys(request.args.get("attributeKeys"))
    issued = issuing.issue_segment_page(db.session, survey_id, segment_id, request.args, limit, skip,
                                        state().clock.now(), g.actor, survey_host_provider(current_app))
    db.session.commit()
    data = []
    for row in links.iter_link_rows(db.session, issued.rows):
        item: dict[str, Any] = {"contactId": row.contact_host_id}
        found = attributes_of(row, keys)
        if found:
            item["attributes"] = found
        item.update(surveyUrl=state().link_url(row.link_id, row.survey_id), expiresAt=iso(row.expires_at),
                    linkId=row.link_id, state=row.state)
        data.append(item)
    meta = {"total": issued.members, "limit": limit, "offset": skip, "issued": issued.report.as_json()}
    return jsonify({"data": data, "meta": meta})


def current_limit() -> int:
    """The largest page the JSON segment endpoint gives."""
    return int(current_app.config["MAX_LINKS_PER_REQUEST"])


ISSUE_PARAMS = [
    param("expirationDays", schema={"type": "integer", "minimum": 1, "maximum": 365},
          description="days from now until the link ends (the host's parameter)"),
    param("expiresOn", schema={"type": "string", "format": "date"},
          description="the last day the link is valid; it ends at 00:00 UTC the day after; tomorrow at the earliest"),
    param("validFrom", schema={"type": "string"}, description="ISO-8601 date or date-time the link opens"),
    param("maxUses", schema={"type": "integer", "minimum": 1, "maximum": 1000}, description="responses allowed (1)"),
    param("rotate", schema={"type": "boolean"}, description="revoke the current link and issue a new URL"),
    param("renew", schema={"type": "boolean"},
          description="give contacts' existing unanswered links (live or not yet valid) the chosen expiry, keeping "
                      "their URLs; without an expiry they stop expiring"),
    param("reissue", schema={"type": "boolean"},
          description="give contacts whose link was revoked a new link (otherwise they are left out, and a single "
                      "contact is refused with 400)"),
    param("skipSuppressed", schema={"type": "boolean", "default": True},
          description="segments: leave suppressed contacts (bounced, opted out, complained) out, no link made and "
                      "none listed; counted in meta.issued.suppressedSkipped (default true)"),
]
_SURVEY = param("surveyId", "path")
PATHS = {
    "/api/v2/management/surveys/{surveyId}/contact-links/contacts/{contactId}": {"get": {
        "summary": "A contact's personal link (issued when the contact has no live one)",
        "parameters": [_SURVEY, param("contactId", "path"), *ISSUE_PARAMS],
        "responses": {**json_response("the link", {"type": "object", "properties": {"data": {
            "type": "object", "properties": {"surveyUrl": {"type": "string"},
                                             "expiresAt": {"type": ["string", "null"]},
                                             "linkId": {"type": "integer"}, "state": {"type": "string"}}},
            "meta": {"type": "object", "properties": {"issued": {"$ref": "#/components/schemas/IssueReport"}}}}}),
                      **error_responses(400, 401, 404, 422)}}},
    "/api/v2/management/surveys/{surveyId}/contact-links/segments/{segmentId}": {"get": {
        "summary": "A page of a segment's personal links, newest contact first",
        "parameters": [_SURVEY, param("segmentId", "path"),
                       param("limit", schema={"type": "integer", "minimum": 1, "maximum": 250}),
                       param("skip", schema={"type": "integer", "minimum": 0}),
                       param("attributeKeys", description="comma-separated, at most 20"), *ISSUE_PARAMS],
        "responses": {**json_response("the page", {"type": "object", "properties": {
            "data": {"type": "array", "items": {"type": "object"}},
            "meta": {"allOf": [{"$ref": "#/components/schemas/Meta"}, {"type": "object", "properties": {
                "issued": {"$ref": "#/components/schemas/IssueReport"}}}]}}}),
            **error_responses(400, 401, 404, 422)}}},
}
