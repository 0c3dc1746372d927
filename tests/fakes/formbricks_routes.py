"""Routes of the fake Formbricks: one blueprint answering like the host's v1 and v2 management APIs."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from tests.fakes.formbricks_state import STAMP, FakeFormbricksState
from tests.fakes.formbricks_versions import FakeVersion

LICENCE_MESSAGE = "Contacts are only enabled for Enterprise Edition, please upgrade."
LICENSED_PREFIXES = ("/api/v1/management/contact", "/api/v2/management/contacts")
V2_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
             422: "Unprocessable Entity", 429: "Too Many Requests"}
V1_CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
            429: "too_many_requests"}
RANK = {"read": 1, "write": 2, "manage": 3}
NEEDS = {"GET": "read", "POST": "write", "PUT": "write", "PATCH": "write", "DELETE": "manage"}

bp = Blueprint("fake_formbricks", __name__)


def _cfg() -> dict[str, Any]:
    return current_app.extensions["fake_formbricks"]  # type: ignore[no-any-return]


def _state() -> FakeFormbricksState:
    return _cfg()["state"]  # type: ignore[no-any-return]


def _version() -> FakeVersion:
    return _cfg()["version"]  # type: ignore[no-any-return]


def error(status: int, message: str = "", details: Any = None) -> Any:
    """An error in the v1 or v2 shape, by the request's path."""
    if request.path.startswith("/api/v2/"):
        body: Any = {"error": {"code": status, "message": V2_TITLES.get(status, "Error")}}
        if details:
            body["error"]["details"] = details
    else:
        code = V1_CODES.get(status, "internal_server_error")
        body = {"code": code, "message": message or V2_TITLES.get(status), "details": details or {}}
    return jsonify(body), status


def _ws(obj: dict[str, Any], workspace_id: str) -> dict[str, Any]:
    """Stamp the workspace id with this version's spelling(s)."""
    return {**obj, **dict.fromkeys(_version().object_id_keys, workspace_id)}


def _needed() -> str:
    """The permission the key needs for this request (singleUseIds: as the version checks it)."""
    if request.path.endswith("/singleUseIds"):
        return _version().single_use_permission
    return NEEDS.get(request.method, "read")


@bp.before_request
def _gate() -> Any:
    cfg, state = _cfg(), _state()
    state.requests_seen.append(f"{request.method} {request.full_path.rstrip('?')}")
    now, window = state.clock(), cfg["window"]
    while window and now - window[0] >= 60:
        window.popleft()
    if len(window) >= cfg["rate_limit"]:
        return error(429, "Too many requests")
    window.append(now)
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
    if state.api_key not in (request.headers.get("x-api-key"), bearer):
        return error(401, "Not authenticated")
    unauthenticated = request.path == "/api/v2/health" or request.path.startswith("/api/v2/me")
    if not unauthenticated and RANK[state.permission] < RANK[_needed()]:
        return error(401, "Not authenticated")  # the host says 401, not 403, for a key too weak
    for prefix, status in state.fail_paths.items():
        if request.path.startswith(prefix):
            return error(status, "Injected failure")
    needs_licence = request.path.startswith(LICENSED_PREFIXES) or "/contact-links/" in request.path
    if needs_licence and not cfg["licensed"]:
        return error(403, LICENCE_MESSAGE)
    return None


@bp.get("/api/v1/management/me")
def me() -> Any:
    state = _state()
    body = {"id": state.workspace_id, "type": "production", "createdAt": STAMP, "updatedAt": STAMP,
            "appSetupCompleted": True, "project": {"id": "prj_1", "name": state.workspace_name}}
    if _version().me_workspace:
        body["workspace"] = {"id": state.workspace_id, "name": state.workspace_name}
    return jsonify(body)


@bp.get("/api/v2/me")
def me_v2() -> Any:
    state = _state()
    if not state.organization_read:
        return error(401, details=[{"field": "organizationId", "issue": "unauthorized"}])
    item = {"permissions": state.permission, "workspaceId": state.workspace_id,
            "environmentId": state.workspace_id, "workspaceName": state.workspace_name}
    lists = {name: [item] for name in _version().permission_lists}
    return jsonify({"data": {**lists, "organizationId": "org_1", "organizationAccess": {}}})


@bp.get("/api/v2/health")
def health() -> Any:
    return jsonify({"data": {"main_database": True, "cache_database": True}})


def _listing(name: str, built_from: Any, build: Callable[[], Any]) -> Any:
    """A whole listing's answer, the bytes ``jsonify(build())`` gives, serialised once for the state it was built
    from and again whenever that state changed (a sync of 100,000 contacts would otherwise spend more time here,
    in the same process as the benchmark, than in the sync it measures)."""
    cache = _cfg()["listings"]
    held = cache.get(name)
    if held is None or held[0] != built_from:
        held = cache[name] = (built_from, jsonify(build()).get_data())
    return current_app.response_class(held[1], mimetype=current_app.json.mimetype)  # type: ignore[attr-defined]


def warm_listings(app: Flask, state: FakeFormbricksState) -> None:
    """Serialise the big listings now, before a benchmark times a client of them."""
    client = app.test_client()
    for path in ("/api/v1/management/contacts", "/api/v1/management/contact-attributes"):
        client.get(path, headers={"x-api-key": state.api_key})


@bp.get("/api/v1/management/contacts")
def contacts() -> Any:
    state = _state()
    return _listing("contacts", [(cid, state.contact_workspaces[cid]) for cid in state.contacts],
                    lambda: {"data": [_ws({"id": cid, "createdAt": STAMP, "updatedAt": STAMP},
                                          state.contact_workspaces[cid]) for cid in state.contacts]})


@bp.get("/api/v1/management/contact-attribute-keys")
def attribute_keys() -> Any:
    state = _state()
    items = [_ws({"id": f"key_{k}", "createdAt": STAMP, "updatedAt": STAMP,
                  "isUnique": k in ("userId", "email"),
                  "key": k, "name": k, "description": None, "type": "default" if i < 5 else "custom",
                  "dataType": "string"}, state.workspace_id)
             for i, k in enumerate(state.attribute_keys())]
    return jsonify({"data": items})


@bp.get("/api/v1/management/contact-attributes")
def attributes() -> Any:
    state = _state()
    return _listing("attributes", [(cid, *attrs.items()) for cid, attrs in state.contacts.items()],
                    lambda: {"data": [{"id": f"attr_{cid}_{k}", "createdAt": STAMP, "updatedAt": STAMP,
                                       "attributeKeyId": f"key_{k}", "contactId": cid, "value": v,
                                       "valueNumber": None, "valueDate": None}
                                      for cid, attrs in state.contacts.items() for k, v in attrs.items()]})


def _survey_json(survey: dict[str, Any]) -> dict[str, Any]:
    state = _state()
    body = {k: v for k, v in survey.items() if k not in ("segmentId", "workspaceId")}
    segment = state.segments.get(survey.get("segmentId") or "")
    body["segment"] = (_ws({k: v for k, v in segment.items() if k not in ("members", "workspaceId")},
                           segment["workspaceId"]) if segment else None)
    return _ws(body, survey["workspaceId"])


@bp.get("/api/v1/management/surveys")
def surveys() -> Any:
    limit, offset = request.args.get("limit", type=int), request.args.get("offset", 0, type=int)
    items = [_survey_json(s) for s in _state().surveys.values()]
    return jsonify({"data": items[offset: offset + limit] if limit else items[offset:]})


@bp.get("/api/v1/management/surveys/<survey_id>")
def survey(survey_id: str) -> Any:
    found = _state().surveys.get(survey_id)
    if found is None:
        return error(404, "Survey not found", {"resource_id": survey_id, "resource_type": "Survey"})
    return jsonify({"data": _survey_json(found)})


@bp.get("/api/v1/management/surveys/<survey_id>/singleUseIds")
def single_use_ids(survey_id: str) -> Any:
    found = _state().surveys.get(survey_id)
    if found is None:
        return error(404, "Survey not found")
    if found["type"] != "link" or not found["singleUse"]["enabled"]:
        return error(400, "Single use links are not enabled for this survey")
    limit = request.args.get("limit", 10, type=int)
    if not 1 <= limit <= 5000:
        return error(400, "limit must be between 1 and 5000", {"limit": "out of range"})
    base = request.host_url.rstrip("/")
    return jsonify({"data": [f"{base}/s/{survey_id}?suId={secrets.token_hex(8)}" for _ in range(limit)]})


@bp.get("/api/v2/management/surveys/<survey_id>/contact-links/segments/<segment_id>")
def contact_links(survey_id: str, segment_id: str) -> Any:
    state = _state()
    found = state.surveys.get(survey_id)
    if found is None:
        return error(404, details=[{"field": "survey", "issue": "not found"}])
    if found["type"] != "link":
        return error(400, details=[{"field": "surveyId", "issue": "Not a link survey"}])
    if found["status"] != "inProgress":
        return error(403)
    segment = state.segments.get(segment_id)
    if segment is None:
        return error(404, details=[{"field": "segment", "issue": "not found"}])
    if segment["workspaceId"] != found["workspaceId"]:
        return error(400, details=[{"field": "segmentId", "issue": "Environment mismatch"}])
    limit, skip = request.args.get("limit", 50, type=int), request.args.get("skip", 0, type=int)
    if not 1 <= limit <= 250 or skip < 0:
        return error(422, details=[{"field": "limit", "issue": "must be between 1 and 250"}])
    members = segment["members"] if segment["members"] is not None else list(reversed(state.contacts))
    base = request.host_url.rstrip("/")
    page = [{"contactId": cid, "surveyUrl": f"{base}/c/token-{cid}", "expiresAt": None}
            for cid in members[skip: skip + limit] if cid not in state.link_failures]
    return jsonify({"data": page, "meta": {"total": len(members), "limit": limit, "offset": skip}})


@bp.route("/api/v2/management/webhooks", methods=["GET", "POST"])
def webhooks_v2() -> Any:
    state = _state()
    if request.method == "GET":
        limit, skip = request.args.get("limit", 50, type=int), request.args.get("skip", 0, type=int)
        items = [_public(w) for w in state.webhooks.values()]
        return jsonify({"data": items[skip: skip + limit], "meta": {"total": len(items), "limit": limit,
                                                                      "offset": skip}})
    body = request.get_json(silent=True) or {}
    keys = _version().v2_webhook_id_keys
    workspace = next((body[k] for k in keys if body.get(k)), None)
    details = [{"field": k, "issue": "Required"} for k in ("name", "url", "source", "triggers", "surveyIds")
               if k not in body]
    if workspace is None:  # what 4.9.7 answers a workspaceId body with
        details.append({"field": keys[0], "issue": "Invalid cuid2"})
    if details:
        return error(422, details=details)
    return jsonify({"data": _create_webhook(body, workspace)}), 201


@bp.route("/api/v2/management/webhooks/<webhook_id>", methods=["GET", "DELETE"])
def webhook_v2(webhook_id: str) -> Any:
    return _one_webhook(webhook_id)


@bp.route("/api/v1/webhooks", methods=["GET", "POST"])
def webhooks_v1() -> Any:
    state = _state()
    if request.method == "GET":
        return jsonify({"data": [_public(w) for w in state.webhooks.values()]})
    body = request.get_json(silent=True) or {}
    workspace = next((body[k] for k in _version().v1_webhook_id_keys if body.get(k)), None)
    if not body.get("url") or not body.get("triggers") or not workspace:
        return error(400, "Fields are missing or incorrectly formatted", {"url": "required"})
    return jsonify({"data": _create_webhook(body, workspace)})


@bp.route("/api/v1/webhooks/<webhook_id>", methods=["GET", "DELETE"])
def webhook_v1(webhook_id: str) -> Any:
    return _one_webhook(webhook_id)


def _create_webhook(body: dict[str, Any], workspace_id: str) -> dict[str, Any]:
    state = _state()
    hook = _ws({"id": state.new_id("wh_"), "name": body.get("name"), "createdAt": STAMP, "updatedAt": STAMP,
                "url": body["url"], "source": body.get("source", "user"), "triggers": list(body["triggers"]),
                "surveyIds": list(body.get("surveyIds") or [])}, workspace_id)
    # as generateWebhookSecret in apps/web/lib/crypto.ts: 32 random bytes in standard base64
    hook["secret"] = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    state.webhooks[hook["id"]] = hook
    return hook


def _one_webhook(webhook_id: str) -> Any:
    state = _state()
    hook = state.webhooks.get(webhook_id)
    if hook is None:
        return error(404, "Webhook not found", [{"field": "id", "issue": "not found"}])
    if request.method == "DELETE":
        del state.webhooks[webhook_id]
    return jsonify({"data": _public(hook)})


def _public(hook: dict[str, Any]) -> dict[str, Any]:
    """A webhook as listed: the secret is only shown at creation."""
    return {k: v for k, v in hook.items() if k != "secret"}


def _select_responses() -> list[dict[str, Any]]:
    items = [r for r in _state().responses if r["surveyId"] == request.args.get("surveyId", r["surveyId"])]
    if request.args.get("contactId"):
        items = [r for r in items if r["contactId"] == request.args["contactId"]]
    if request.args.get("startDate"):
        items = [r for r in items if r["createdAt"] >= request.args["startDate"][:19]]
    if request.args.get("sortBy"):
        items.sort(key=lambda r: r[request.args["sortBy"]], reverse=request.args.get("order") == "desc")
    return items


@bp.get("/api/v2/management/responses")
def responses_v2() -> Any:
    items = _select_responses()
    limit, skip = request.args.get("limit", 50, type=int), request.args.get("skip", 0, type=int)
    body: dict[str, Any] = {"data": items[skip: skip + limit]}
    if _state().responses_meta:
        body["meta"] = {"total": len(items), "limit": limit, "offset": skip}
    return jsonify(body)


@bp.get("/api/v1/management/responses")
def responses_v1() -> Any:
    limit, skip = request.args.get("limit", 50, type=int), request.args.get("skip", 0, type=int)
    items = [{**{k: v for k, v in r.items() if k != "contactId"}, "contact": None}
             for r in _select_responses()]
    return jsonify({"data": items[skip: skip + limit]})


@bp.delete("/api/v1/management/responses/<response_id>")
def delete_response(response_id: str) -> Any:
    state = _state()
    found = next((r for r in state.responses if r["id"] == response_id), None)
    if found is None:
        return error(404, "Response not found")
    state.responses.remove(found)
    return jsonify({"data": found})
