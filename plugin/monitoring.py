"""``GET /metrics`` for Prometheus (off unless PERSONAL_LINKS_METRICS=on, then behind a bearer token), the
separate metrics server's WSGI app, and the per-request counters and latency, by route template."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST

from adapters import http
from plugin import metrics
from plugin.config import ConfigError
from plugin.logs import route_of

bp = Blueprint("monitoring", __name__)


def init_app(app: Flask) -> None:
    """Start recording when metrics are on, and count every request the app answers."""
    if not app.config["METRICS"]:
        return
    try:
        metrics.enable(app.config["METRICS_DIR"])
    except (ValueError, OSError) as exc:
        raise ConfigError(f"PERSONAL_LINKS_METRICS_DIR: {exc}") from None
    http.add_observer(metrics.host_called)

    @app.before_request
    def start_clock() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count(response: Response) -> Response:
        started = g.get("metrics_started")
        if started is not None:
            metrics.request_answered(request.method, route_of(), response.status_code, time.perf_counter() - started)
        return response


def separate_app(path: str = "/metrics") -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """The WSGI app of ``personal-links metrics-server``: the scrape at ``path`` without a token (its address is
    the protection), 404 elsewhere; it reads the server processes' files, it counts nothing itself."""

    def scrape_only(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != path or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [f"not found: the metrics are at {path}\n".encode()]
        body = metrics.scrape()
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]

    return scrape_only


def _authorised() -> bool:
    sent = request.headers.get("Authorization", "")
    scheme, _, token = sent.partition(" ")
    expected = current_app.config["METRICS_TOKEN"]
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


@bp.get("/metrics")
def scrape() -> Response:
    """Every worker's numbers, added up; 404 when metrics are off or served elsewhere, 401 without the token."""
    if not current_app.config["METRICS"] or not current_app.config["METRICS_TOKEN"]:
        abort(404)  # off, or only on the separate address of ``personal-links metrics-server``
    if not _authorised():
        return Response("a bearer token is required: Authorization: Bearer $PERSONAL_LINKS_METRICS_TOKEN\n",
                        status=401, mimetype="text/plain", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(metrics.scrape(), content_type=CONTENT_TYPE_LATEST)
