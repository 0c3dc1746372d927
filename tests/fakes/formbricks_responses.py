"""Routes of the fake Formbricks for one response: GET, and the PUT that merges ``data`` (as the host does).

The PUT follows ``apps/web/app/api/v1/management/responses/[responseId]/route.ts`` and ``updateResponse`` in
``apps/web/lib/response/service.ts`` (4.9.7 and main): a write key; a JSON object body whose known members
(``ZResponseUpdateInput``: finished, endingId, data, variables, ttc, language) are taken and others dropped;
``data`` merged over the stored data; ``meta`` never changed. Each update is recorded in ``state.response_updates``.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from tests.fakes.formbricks_routes import _state, _version, bp, error


def _found(response_id: str) -> dict[str, Any] | None:
    return next((r for r in _state().responses if r["id"] == response_id), None)


@bp.get("/api/v1/management/responses/<response_id>")
def get_response(response_id: str) -> Any:
    found = _found(response_id)
    if found is None:
        return error(404, "Response not found")
    return jsonify({"data": found})


@bp.put("/api/v1/management/responses/<response_id>")
def update_response(response_id: str) -> Any:
    found = _found(response_id)
    if found is None:
        return error(404, "Response not found")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "Malformed JSON input, please check your request body")
    update = {key: body[key] for key in _version().response_update_takes if key in body}
    if "data" in update and not isinstance(update["data"], dict):
        return error(400, "Fields are missing or incorrectly formatted", {"data": "Expected object"})
    if "data" in update:
        found["data"] = {**found["data"], **update["data"]} if _version().response_update_merges else update["data"]
    found.update({k: v for k, v in update.items() if k != "data"})
    _state().response_updates.append({"id": response_id, "data": dict(update.get("data") or {})})
    return jsonify({"data": found})
