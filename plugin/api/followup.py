"""The follow-up API: a survey's funnel, its non-respondents (JSON and CSV), and attribution lookups."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from plugin.api.auth import require_api_key
from plugin.clock import iso
from plugin.db import db
from plugin.openapi import error_responses, json_response, param
from plugin.services.followup import followup, reminders
from plugin.services.followup import funnel as funnel_service
from plugin.services.host.adapters import survey_host_provider
from plugin.services.links import links
from plugin.services.links.params import parse_bool, parse_int, parse_page
from plugin.state import state
from plugin.tokens import MAX_ID

bp = Blueprint("followup", __name__, url_prefix="/api/personal-links/v1")


@bp.get("/surveys/<survey_id>/funnel")
@require_api_key
def funnel(survey_id: str) -> Response:
    """Issued, opened, started, completed, expired and revoked links of a survey, now."""
    survey = links.get_survey(db.session, survey_id)
    return jsonify({"data": followup.funnel_counts(db.session, survey.id, state().clock.now())})


@bp.get("/surveys/<survey_id>/funnel/daily")
@require_api_key
def funnel_daily(survey_id: str) -> Response:
    """Opens, starts and completions per UTC day since the survey's first link was issued."""
    survey = links.get_survey(db.session, survey_id)
    days = funnel_service.daily_funnel(db.session, survey.id, state().clock.now())
    return jsonify({"data": [{"date": day.day.isoformat(), "opened": day.opened, "started": day.started,
                              "completed": day.completed} for day in days]})


def _include_suppressed() -> bool:
    return parse_bool("includeSuppressed", request.args.get("includeSuppressed"))


def _non_respondents(survey_id: str) -> Any:
    """The non-respondents query of the request's survey, segment, cadence and ``includeSuppressed``: with
    ``minGapHours`` or ``maxReminders``, those due for a reminder now (``reminders.due``)."""
    survey = links.get_survey(db.session, survey_id)
    segment_id = request.args.get("segment")
    if segment_id:
        segment_id = links.get_segment(db.session, segment_id).id
    cadence = reminders.parse_cadence(request.args)
    now, anonymous = state().clock.now(), bool(survey.anonymous)
    if cadence.given:
        return reminders.due(survey.id, now, cadence, segment_id or None, anonymous=anonymous)
    return followup.non_respondents(survey.id, now, stopped_only=cadence.stopped, segment_id=segment_id or None,
                                    anonymous=anonymous, include_suppressed=_include_suppressed())


def non_respondent_json(row: followup.NonRespondent) -> dict[str, Any]:
    """A non-respondent as the API shows it, with the personal link to send again."""
    return {"contactId": row.contact_host_id, "userId": row.custom_id, "firstName": row.first_name,
            "lastName": row.last_name, "email": row.email, "linkId": row.link_id, "state": row.state,
            "surveyUrl": state().link_url(row.link_id, row.survey_id), "lastOpenedAt": iso(row.last_opened_at),
            "startedAt": iso(row.started_at), "expiresAt": iso(row.expires_at),
            "remindersSent": row.reminders_sent, "lastContactedAt": iso(row.last_contacted_at),
            "suppressed": row.suppressed}


@bp.get("/surveys/<survey_id>/non-respondents")
@require_api_key
def non_respondents(survey_id: str) -> Response:
    """A page of contacts holding a live link and no finished response; the total only when asked for."""
    limit, skip = parse_page(request.args, 1000, 100)
    after = parse_int("after", request.args.get("after"), 0, MAX_ID)
    with_total = parse_bool("total", request.args.get("total"))
    query = _non_respondents(survey_id)
    page = followup.page(db.session, query, limit, skip, after)
    meta: dict[str, Any] = {"limit": limit, "offset": skip,
                            "nextCursor": None if page.next_cursor is None else str(page.next_cursor)}
    if with_total:
        meta["total"] = followup.count(db.session, query)
    return jsonify({"data": [non_respondent_json(row) for row in page.rows], "meta": meta})


@bp.get("/surveys/<survey_id>/non-respondents.csv")
@require_api_key
def non_respondents_csv(survey_id: str) -> Response:
    """The same contacts as CSV, streamed, for a reminder tool."""
    query = _non_respondents(survey_id)
    body = followup.csv_lines(db.session, query, state().link_urls(survey_id), iso,
                              with_suppressed=_include_suppressed())
    filename = f"non-respondents-{survey_id}.csv".replace('"', "")
    return Response(stream_with_context(body), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def attribution_json(row: followup.Attribution) -> dict[str, Any]:
    """An attribution as the API shows it."""
    return {"responseId": row.response_id, "surveyId": row.survey_id, "status": row.status,
            "contactId": row.contact_host_id, "linkId": row.link_id, "startedAt": iso(row.started_at),
            "finishedAt": iso(row.finished_at)}


@bp.get("/responses/<response_id>/attribution")
@require_api_key
def response_attribution(response_id: str) -> Response:
    """Which contact gave a response; 409 when its survey is anonymous."""
    row = followup.attribution_of(db.session, response_id, request.args.get("surveyId") or None,
                                  host=survey_host_provider(current_app)())
    return jsonify({"data": attribution_json(row)})


@bp.get("/contacts/<contact_id>/responses")
@require_api_key
def contact_responses(contact_id: str) -> Response:
    """Which responses a contact gave, optionally to one survey (409 when that survey is anonymous)."""
    rows = followup.responses_of(db.session, contact_id, request.args.get("surveyId") or None)
    return jsonify({"data": [attribution_json(row) for row in rows]})


_SURVEY = param("surveyId", "path")
_FILTERS = [param("stopped", schema={"type": "boolean"}, description="only those who started and stopped"),
            param("segment", description="only contacts of this segment"),
            param("minGapHours", schema={"type": "integer", "minimum": 0, "maximum": reminders.MAX_GAP_HOURS},
                  description="only those last contacted (invitation or reminder) at least this many hours ago; "
                              "with it or maxReminders: who is due for a reminder now (not in an open batch)"),
            param("maxReminders", schema={"type": "integer", "minimum": 0, "maximum": reminders.MAX_REMINDERS},
                  description="only those sent fewer reminders than this"),
            param("includeSuppressed", schema={"type": "boolean"},
                  description="include suppressed contacts (bounced, opted out, complained), each with its "
                              "reason in `suppressed` (the CSV: a last column Suppressed); default false")]
_ATTRIBUTION = {"type": "object", "properties": {
    "responseId": {"type": "string"}, "surveyId": {"type": "string"},
    "status": {"enum": ["started", "attributed", "duplicate", "late", "early", "unattributed", "rejected"]},
    "contactId": {"type": ["string", "null"]}, "linkId": {"type": ["integer", "null"]},
    "startedAt": {"type": ["string", "null"]}, "finishedAt": {"type": ["string", "null"]}}}
PATHS = {
    "/api/personal-links/v1/surveys/{surveyId}/funnel": {"get": {
        "summary": "A survey's funnel: links issued, opened, started, completed, expired, revoked; and how many "
                   "contacts holding a current link are suppressed",
        "parameters": [_SURVEY],
        "responses": {**json_response("counts", {"type": "object", "properties": {"data": {
            "type": "object", "properties": {name: {"type": "integer"} for name in followup.FUNNEL}}}}),
            **error_responses(401, 404)}}},
    "/api/personal-links/v1/surveys/{surveyId}/funnel/daily": {"get": {
        "summary": "A survey's opens, starts and completions per UTC day since its first link was issued "
                   "(each link counted once per step, on the day it first got there); empty without links",
        "parameters": [_SURVEY],
        "responses": {**json_response("one entry per day, oldest first", {"type": "object", "properties": {
            "data": {"type": "array", "items": {"type": "object", "properties": {
                "date": {"type": "string", "format": "date"}, "opened": {"type": "integer"},
                "started": {"type": "integer"}, "completed": {"type": "integer"}}}}}}),
            **error_responses(401, 404)}}},
    "/api/personal-links/v1/surveys/{surveyId}/non-respondents": {"get": {
        "summary": "Contacts holding a live link and no finished response, now (suppressed ones left out unless "
                   "includeSuppressed=true)",
        "description": "Page with `after` (the previous page's `meta.nextCursor`, null after the last page): the "
                       "millionth row costs what the first does; `skip` works too. `meta.total` is counted only "
                       "with `total=true` (a count reads every row). Each row carries `remindersSent` (confirmed "
                       "reminders) and `lastContactedAt` (the last invitation or reminder, null: never).",
        "parameters": [_SURVEY, *_FILTERS, param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
                       param("skip", schema={"type": "integer", "minimum": 0}),
                       param("after", schema={"type": "string", "pattern": "^[0-9]+$"}),
                       param("total", schema={"type": "boolean"})],
        "responses": {**json_response("a page", {"type": "object", "properties": {
            "data": {"type": "array", "items": {"type": "object", "properties": {
                "suppressed": {"type": ["string", "null"], "enum": [None, "bounce", "opt-out", "complaint"],
                               "description": "why the contact is suppressed (includeSuppressed=true); null"}}}},
            "meta": {"type": "object", "properties": {
                "limit": {"type": "integer"}, "offset": {"type": "integer"},
                "nextCursor": {"type": ["string", "null"]}, "total": {"type": "integer"}}}}}),
            **error_responses(401, 404, 422)}}},
    "/api/personal-links/v1/surveys/{surveyId}/non-respondents.csv": {"get": {
        "summary": "The non-respondents as a streamed CSV for a reminder tool",
        "parameters": [_SURVEY, *_FILTERS],
        "responses": {"200": {"description": "CSV: " + ",".join(followup.CSV_HEADER) + " (and "
                                             + followup.SUPPRESSED_COLUMN + " with includeSuppressed=true)",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **error_responses(401, 404, 422)}}},
    "/api/personal-links/v1/responses/{responseId}/attribution": {"get": {
        "summary": "Which contact gave a response",
        "description": "409 when the response's survey is anonymous: `surveyId` when given, else the survey the "
                       "host names for a response the sidecar holds no attribution of.",
        "parameters": [param("responseId", "path"), param("surveyId", description="the response's survey")],
        "responses": {**json_response("the attribution", {"type": "object", "properties": {"data": _ATTRIBUTION}}),
                      **error_responses(401, 404, 409)}}},
    "/api/personal-links/v1/contacts/{contactId}/responses": {"get": {
        "summary": "Which responses a contact gave (never those of anonymous surveys: 409 when surveyId is one)",
        "parameters": [param("contactId", "path"), param("surveyId")],
        "responses": {**json_response("attributions", {"type": "object", "properties": {
            "data": {"type": "array", "items": _ATTRIBUTION}}}), **error_responses(401, 404, 409)}}},
}
