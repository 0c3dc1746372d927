"""The OpenAPI 3.1 document of the admin API, served at ``/openapi.json``.

Each API module declares its own ``PATHS`` (and any ``SCHEMAS`` they refer to) next to its views; this module
gathers them, so a route and its documentation change together. A test checks that every API route is
documented and every documented path is routed.
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

bp = Blueprint("openapi", __name__)

SOURCES = (
    "plugin.api.contact_links",
    "plugin.api.links",
    "plugin.api.people",
    "plugin.api.followup",
    "plugin.api.contacts_made",
    "plugin.api.reminder_batches",
    "plugin.api.suppressions",
    "plugin.api.jobs",
    "plugin.api.host",
    "plugin.api.inbox",
    "plugin.api.local_segments",
    "plugin.api.syncs",
    "plugin.api.events",
    "webhooks.receiver",
)


def param(name: str, where: str = "query", schema: dict[str, Any] | None = None, description: str = "",
          required: bool | None = None) -> dict[str, Any]:
    """One parameter object; path parameters are always required."""
    return {"name": name, "in": where, "required": where == "path" if required is None else required,
            "schema": schema or {"type": "string"}, "description": description}


_RETRY_AFTER = {"Retry-After": {"description": "seconds until the client may try again",
                                 "schema": {"type": "integer"}}}


def error_responses(*codes: int, keyed: bool = True) -> dict[str, Any]:
    """Responses in the host's v2 error shape for the given status codes.

    A route that needs an admin API key (401, ``keyed``) can also answer 429 (too many wrong keys from the
    address or with the key prefix) and 422 (text no database stores, in any parameter); the webhook's 401 is
    a signature's (``keyed=False``), which nothing throttles.
    """
    listed = sorted({*codes, 422, 429} if keyed and 401 in codes else set(codes))
    responses = {str(code): {"description": "error", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for code in listed}
    if "429" in responses:
        responses["429"]["headers"] = _RETRY_AFTER
    return responses


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A 200 response with a JSON body."""
    return {"200": {"description": description, "content": {"application/json": {"schema": schema}}}}


COMPONENTS: dict[str, Any] = {
    "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
    "schemas": {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "integer"}, "message": {"type": "string"}, "detail": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": "string"}, "issue": {"type": "string"}}}}}}}},
        "IssueReport": {"type": "object", "description": "what issuing did to the chosen contacts' links",
                        "properties": {
            "links": {"type": "integer", "description": "links the contacts hold now (new + renewed + kept)"},
            "new": {"type": "integer"},
            "reissued": {"type": "integer", "description": "new ones replacing a revoked link"},
            "renewed": {"type": "integer", "description": "existing links given the chosen expiry (renew)"},
            "kept": {"type": "integer", "description": "existing links left as they were"},
            "keptExpiresFirst": {"type": ["string", "null"]}, "keptExpiresLast": {"type": ["string", "null"]},
            "keptWithoutExpiry": {"type": "integer"},
            "renewable": {"type": "integer", "description": "kept links that renew=true would change"},
            "revokedLeftOut": {"type": "integer", "description": "contacts left out because their link was revoked"},
            "expiresAt": {"type": ["string", "null"]},
            "suppressedSkipped": {"type": "integer",
                                  "description": "a segment's suppressed contacts left out (skipSuppressed)"},
            "summary": {"type": "string"}}},
        "Meta": {"type": "object", "properties": {"total": {"type": "integer"}, "limit": {"type": "integer"},
                                                  "offset": {"type": "integer"},
                                                  "nextCursor": {"type": ["string", "null"]}}},
    },
}


BODY_METHODS = ("post", "put", "patch")
DESCRIPTION = (
    "Personal survey links: host-compatible contact-links endpoints and the sidecar's own. Authenticate with an "
    "admin API key in the x-api-key header. Every path answers a method it does not list with 405 and an Allow "
    "header naming those it does; an integer id larger than its column holds (2147483647) is 404; a request "
    "body over PERSONAL_LINKS_MAX_CONTENT_LENGTH (the webhook's: PERSONAL_LINKS_WEBHOOK_MAX_BYTES) is 413, "
    "sent with a Content-Length or chunked.")


def _with_body_limit(paths: dict[str, Any]) -> dict[str, Any]:
    """The paths, with 413 on every operation that reads a body: each with a request body, and every POST, PUT
    and PATCH of the admin API (plugin.text_guard reads each one's body before its view runs)."""
    limited: dict[str, Any] = {}
    for path, item in paths.items():
        limited[path] = {}
        for method, operation in item.items():
            if "requestBody" in operation or (method in BODY_METHODS and path.startswith("/api/")):
                operation = {**operation, "responses": {**operation["responses"], **error_responses(413)}}
            limited[path][method] = operation
    return limited


def document() -> dict[str, Any]:
    """The whole document."""
    paths: dict[str, Any] = {}
    components = {**COMPONENTS, "schemas": dict(COMPONENTS["schemas"])}
    for name in SOURCES:
        module = importlib.import_module(name)
        paths.update(module.PATHS)
        components["schemas"].update(getattr(module, "SCHEMAS", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Personal links sidecar admin API", "version": current_app.config.get("VERSION", "0"),
                 "description": DESCRIPTION},
        "security": [{"apiKey": []}],
        "paths": _with_body_limit(paths),
        "components": components,
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The document, as JSON."""
    return jsonify(document())
