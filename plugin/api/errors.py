"""One error handler: service errors and HTTP errors as the host's v2 JSON shape under /api, pages elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from adapters.base import AdapterError
from plugin.db import db
from plugin.errors import ServiceError, error_body
from plugin.headers import HTML, harden, prefers_json
from plugin.i18n import pick_language
from plugin.respondent import render_unavailable

log = logging.getLogger(__name__)


def _json(status: int, message: str, details: list[dict[str, str]] | None = None,
          headline: bool = False) -> tuple[Response, int]:
    return jsonify(error_body(status, message, details, headline)), status


def _wants_json() -> bool:
    """API and webhook paths, and clients that prefer JSON to HTML, get JSON errors; browsers get pages."""
    return request.path.startswith(("/api/", "/webhooks/")) or prefers_json()


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> tuple[Response, int]:
        db.session.rollback()
        return _json(exc.status, exc.message, exc.details, exc.headline)

    @app.errorhandler(AdapterError)
    def adapter_error(exc: AdapterError) -> tuple[Response, int]:
        db.session.rollback()
        log.warning("host error: %s", exc.message)
        return _json(502, exc.message)

    @app.errorhandler(OperationalError)
    def database_down(exc: OperationalError) -> tuple[Response, int]:
        db.session.rollback()
        log.error("database unavailable: %s", exc.orig)
        if _wants_json():
            response, status = _json(503, "the database is unavailable; try again shortly")
        else:  # a person with a browser: a readable page in their language, no internals
            language = pick_language()
            response = harden(Response(render_unavailable(language), content_type=HTML,
                                       headers={"Content-Language": language}))
            status = 503
        response.headers["Retry-After"] = "5"
        return response, status

    @app.errorhandler(DataError)
    def unstorable_value(exc: DataError) -> Response | tuple[Response, int]:
        db.session.rollback()
        log.warning("refused a value the database cannot store: %s", str(exc.orig).splitlines()[0])
        message = "a value cannot be stored: it holds a NUL character, is too long, or is out of range"
        if request.path.startswith(("/api/", "/webhooks/")):
            return _json(422, message)
        return Response(message, status=400, mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | tuple[Response, int]:
        status = exc.code or 500
        if _wants_json():
            response, status = _json(status, exc.description or exc.name)
            for name, value in exc.get_headers():  # a 405's Allow; the body's own Content-Type stays
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response, status
        return harden(exc.get_response())
