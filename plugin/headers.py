"""The safe headers every HTML page carries, admin and respondent alike, and the HTML-or-JSON choice."""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

# No inline scripts or styles: scripts and CSS come from /static only.
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
HTML = "text/html; charset=utf-8"


def harden(response: Response) -> Response:
    """No caching, no framing, no content sniffing, the CSP, and no Referer (tokens travel in URLs)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def prefers_json() -> bool:
    """Whether the client prefers JSON to HTML (API clients); browsers and ``*/*`` get the page."""
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
