"""The safe headers every HTML page carries, admin and respondent alike."""

from __future__ import annotations

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
