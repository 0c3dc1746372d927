"""The sidecar's own admin API: surveys, segments, link lists with state, CSV download, revoke."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context
from sqlalchemy import select

from plugin.api.auth import require_api_key
from plugin.api.body import json_object
from plugin.api.contact_links import ISSUE_PARAMS
from plugin.clock import iso
from plugin.db import db
from plugin.models import Contact, Link
from plugin.openapi import error_responses, json_response, param
from plugin.services.anonymity import anonymity
from plugin.services.contacts import segments
from plugin.services.host import surveys
from plugin.services.host.adapters import survey_host_provider
from plugin.services.links import issuing, links
from plugin.services.links.export import csv_lines
from plugin.services.links.params import parse_bool, parse_choice, parse_flag, parse_int, parse_page
from plugin.state import state
from plugin.tokens import MAX_ID

bp = Blueprint("links", __name__, url_prefix="/api/personal-links/v1")


@bp.get("/surveys")
@require_api_key
def list_surveys() -> Response:
    """The surveys personal links can point to."""
    return jsonify({"data": [surveys.as_json(row) for row in surveys.list_surveys(db.session)]})


@bp.put("/surveys/<survey_id>")
@require_api_key
def put_survey(survey_id: str) -> Response:
    """Register or update a survey by hand (hosts without a survey adapter); ``anonymous`` sets its mode."""
    body = json_object("a JSON object with publicUrl (and name, type, status, hiddenFieldIds, singleUse, anonymous)")
    anonymous, erase = (parse_flag(body, name) for name in ("anonymous", "eraseAttributions"))
    now = state().clock.now()
    row = surveys.save_survey(db.session, survey_id, body, now, state().hidden_field)
    data = surveys.as_json(row)
    if anonymous is not None:
        change = anonymity.set_mode(db.session, row, anonymous, now, g.actor, erase_attributions=bool(erase))
        data = {**surveys.as_json(row), "modeChange": {"changed": change.changed,
                                                        "attributionsErased": change.attributions_erased,
                                                        "hostErasuresQueued": change.erasures_queued}}
    db.session.commit()
    return jsonify({"data": data})


@bp.get("/segments")
@require_api_key
def list_segments() -> Response:
    """Public segments with their live member counts; an empty list says to create segments first."""
    data = [{"id": row.id, "title": row.title, "kind": row.kind, "memberCount": row.member_count}
            for row in segments.public_segments(db.session)]
    body: dict[str, Any] = {"data": data}
    if not data:
        body["message"] = segments.NO_SEGMENTS
    return jsonify(body)


@bp.get("/surveys/<survey_id>/links")
@require_api_key
def list_links(survey_id: str) -> Response:
    """A survey's links with their state, newest first; filter by state and segment; page by ``skip`` or by the
    ``after`` cursor; ``total=false`` skips the count."""
    limit, skip = parse_page(request.args, 1000, 100)
    after = parse_int("after", request.args.get("after"), 0, MAX_ID)
    with_total = request.args.get("total") in (None, "") or parse_bool("total", request.args.get("total"))
    total, rows, cursor = links.list_links(db.session, survey_id, state().clock.now(),
                                           state=parse_choice("state", request.args.get("state"), links.STATES),
                                           segment_id=request.args.get("segment") or None, limit=limit, skip=skip,
                                           after=after, with_total=with_total)
    data = [link_json(link, host_id, link_state) for link, host_id, link_state in rows]
    meta: dict[str, Any] = {"limit": limit, "offset": skip, "nextCursor": None if cursor is None else str(cursor)}
    if total is not None:
        meta["total"] = total
    return jsonify({"data": data, "meta": meta})


def link_json(link: Link, host_id: str, link_state: str) -> dict[str, Any]:
    """A link as the admin API shows it."""
    return {"id": link.id, "surveyId": link.survey_id, "contactId": host_id, "state": link_state,
            "url": state().link_url(link.id, link.survey_id), "current": link.is_current,
            "createdAt": iso(link.created_at), "validFrom": iso(link.valid_from), "expiresAt": iso(link.expires_at),
            "maxUses": link.max_uses, "useCount": link.use_count, "openCount": link.open_count,
            "firstOpenedAt": iso(link.first_opened_at), "lastOpenedAt": iso(link.last_opened_at),
            "startedAt": iso(link.started_at), "completedAt": iso(link.completed_at),
            "revokedAt": iso(link.revoked_at)}


@bp.get("/surveys/<survey_id>/segments/<segment_id>/links.csv")
@require_api_key
def segment_csv(survey_id: str, segment_id: str) -> Response:
    """Issue links for a whole segment and stream them as the host's CSV."""
    issued = issuing.issue_segment(db.session, survey_id, segment_id, request.args, state().clock.now(), g.actor,
                                 survey_host_provider(current_app))
    db.session.commit()
    survey = issued.survey
    body = csv_lines(links.iter_batches(db.session, issued.export), state().link_urls(survey.id))
    filename = f"personal-links-{survey.id}-{segment_id}.csv".replace('"', "")
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', **issued.report.headers()}
    return Response(stream_with_context(body), mimetype="text/csv", headers=headers)


@bp.post("/links/<int:link_id>/revoke")
@require_api_key
def revoke(link_id: int) -> Response:
    """Revoke one link: it stops opening at once."""
    link = links.revoke_link(db.session, link_id, state().clock.now(), g.actor)
    db.session.commit()
    host_id = db.session.scalar(select(Contact.host_id).where(Contact.id == link.contact_id))
    return jsonify({"data": link_json(link, host_id or "", "revoked")})


@bp.post("/links/<int:link_id>/reissue")
@require_api_key
def reissue(link_id: int) -> Response:
    """Give the contact of a revoked link a new link, on purpose; options as query parameters."""
    issued = issuing.reissue_link(db.session, link_id, request.args, state().clock.now(), g.actor,
                                  survey_host_provider(current_app))
    db.session.commit()
    row = next(links.iter_link_rows(db.session, issued.rows))
    return jsonify({"data": {"surveyUrl": state().link_url(row.link_id, row.survey_id),
                             "contactId": row.contact_host_id, "expiresAt": iso(row.expires_at),
                             "linkId": row.link_id, "state": row.state, "replaces": link_id}})


_LIST = {"type": "object", "properties": {"data": {"type": "array", "items": {"type": "object"}},
                                          "meta": {"$ref": "#/components/schemas/Meta"}}}
_SURVEY = param("surveyId", "path")
_REPORT_HEADERS = {name: {"description": text, "schema": {"type": "string"}} for name, text in (
    ("X-Link-Count", "rows in the file: links the contacts hold now (new + renewed + kept)"),
    ("X-Links-New", "links made now"), ("X-Links-Reissued", "of the new ones, how many replace a revoked link"),
    ("X-Links-Renewed", "existing links given the chosen expiry (renew=true), same URLs"),
    ("X-Links-Kept", "existing links left as they were"),
    ("X-Links-Kept-Expires-First", "the earliest expiry among the kept links (ISO-8601; empty: none)"),
    ("X-Links-Kept-Expires-Last", "the latest expiry among the kept links (ISO-8601; empty: none)"),
    ("X-Links-Kept-Without-Expiry", "kept links that never expire"),
    ("X-Links-Renewable", "kept links renew=true would give the chosen expiry"),
    ("X-Links-Revoked-Left-Out", "contacts left out because their link was revoked (reissue=true includes them)"),
    ("X-Links-Suppressed-Skipped", "suppressed contacts left out (skipSuppressed=false includes them)"),
    ("X-Links-Summary", "the same as one ASCII sentence"))}
PATHS = {
    "/api/personal-links/v1/surveys": {"get": {
        "summary": "Surveys personal links can point to",
        "responses": {**json_response("surveys", _LIST), **error_responses(401)}}},
    "/api/personal-links/v1/surveys/{surveyId}": {"put": {
        "summary": "Register or update a survey by hand",
        "parameters": [_SURVEY],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"name": {"type": "string"}, "publicUrl": {"type": "string"},
                                             "type": {"enum": ["link", "app"]}, "status": {"type": "string"},
                                             "hiddenFieldIds": {"type": "array", "items": {"type": "string"}},
                                             "singleUse": {"type": "boolean"},
                                             "language": {"type": ["string", "null"], "maxLength": 35,
                                                          "description": "language of the respondent pages "
                                                                         "(e.g. en, de); null: the browser's"},
                                             "anonymous": {"type": "boolean", "description":
                                                           "responses are never tied to contacts "
                                                           "(docs/anonymity.md); absent: unchanged"},
                                             "eraseAttributions": {"type": "boolean", "description":
                                                                   "required to make a survey with "
                                                                   "attributions or opened links anonymous: "
                                                                   "they are erased"}}}}}},
        "description": "409: making a survey with attributions or opened links anonymous without "
                       "eraseAttributions: true (error.message says how many it would erase).",
        "responses": {**json_response("the survey (with modeChange when anonymous was sent)", {"type": "object"}),
                      **error_responses(401, 409, 422)}}},
    "/api/personal-links/v1/segments": {"get": {
        "summary": "Public segments with member counts",
        "responses": {**json_response("segments", _LIST), **error_responses(401)}}},
    "/api/personal-links/v1/surveys/{surveyId}/links": {"get": {
        "summary": "A survey's links with their state, newest first",
        "description": "Page with `after` (the previous page's `meta.nextCursor`, null after the last page): page "
                       "10,000 costs what page 1 does; `skip` works too. `meta.total` is counted unless "
                       "`total=false` (a count reads every row: leave it out when paging a large survey).",
        "parameters": [_SURVEY, param("state", schema={"enum": list(links.STATES)}), param("segment"),
                       param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
                       param("skip", schema={"type": "integer", "minimum": 0}),
                       param("after", schema={"type": "string", "pattern": "^[0-9]+$"},
                             description="the previous page's meta.nextCursor"),
                       param("total", schema={"type": "boolean", "default": True})],
        "responses": {**json_response("links", _LIST), **error_responses(401, 404, 422)}}},
    "/api/personal-links/v1/surveys/{surveyId}/segments/{segmentId}/links.csv": {"get": {
        "summary": "Issue a whole segment's links and download them as CSV",
        "parameters": [_SURVEY, param("segmentId", "path"), *ISSUE_PARAMS],
        "responses": {"200": {"description": "CSV: Formbricks Contact ID,Custom ID,First Name,Last Name,"
                                             "Email,Personal Link. Contacts whose link was revoked are left out "
                                             "unless reissue=true; the headers report what happened",
                              "headers": _REPORT_HEADERS,
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **error_responses(400, 401, 404, 422)}}},
    "/api/personal-links/v1/links/{linkId}/revoke": {"post": {
        "summary": "Revoke one link",
        "parameters": [param("linkId", "path", {"type": "integer"})],
        "responses": {**json_response("the revoked link", {"type": "object"}), **error_responses(401, 404)}}},
    "/api/personal-links/v1/links/{linkId}/reissue": {"post": {
        "summary": "Give the contact of a revoked link a new link, on purpose",
        "description": "Without expiresOn/expirationDays (or maxUses) the new link takes the revoked one's while "
                       "it is still ahead. 400 when the link is not revoked or was already replaced.",
        "parameters": [param("linkId", "path", {"type": "integer"}),
                       *[p for p in ISSUE_PARAMS if p["name"] in ("expirationDays", "expiresOn", "validFrom",
                                                                  "maxUses")]],
        "responses": {**json_response("the new link", {"type": "object"}), **error_responses(400, 401, 404, 422)}}},
}
