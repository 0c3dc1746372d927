"""``GET /metrics`` for Prometheus (off unless PERSONAL_LINKS_METRICS=on, then behind a bearer token), and the
per-request counters and latency, by route template."""

from __future__ import annotations

import hmac
import time

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


def _authorised() -> bool:
    sent = request.headers.get("Authorization", "")
    scheme, _, token = sent.partition(" ")
    expected = current_app.config["METRICS_TOKEN"]
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


@bp.get("/metrics")
def scrape() -> Response:
    """Every worker's numbers, added up; 404 when metrics are off, 401 without the token."""
    if not current_app.config["METRICS"]:
        abort(404)
    if not _authorised():
        return Response("a bearer token is required: Authorization: Bearer $PERSONAL_LINKS_METRICS_TOKEN\n",
                        status=401, mimetype="text/plain", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(metrics.scrape(), content_type=CONTENT_TYPE_LATEST)
