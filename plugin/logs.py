"""Logs: a request id on every request, carried into every log line, and the plain or JSON line format.

The request id is taken from ``X-Request-ID`` when it is a short run of safe characters, made otherwise, and
sent back in the answer. It lives in a context variable, so services (the audit trail) and log records read
it without knowing of Flask. A request's last line (``GET /c/<token> 302 1.2 ms``) names its route template, never its
path: paths hold link tokens and ids.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, request
from werkzeug.wrappers import Response

HEADER = "X-Request-ID"
FORMATS = ("plain", "json")
PACKAGES = ("plugin", "webhooks", "adapters")  # the loggers PERSONAL_LINKS_LOG_LEVEL sets
PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
_CONVERTER = re.compile(r"<(?:[^:>]+:)?([^>]+)>")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# What a log record may carry besides the standard fields, and the names JSON lines give them.
_EXTRA = (("route", "route"), ("method", "method"), ("status", "status"), ("duration_ms", "durationMs"))
access_log = logging.getLogger("plugin.access")
_ROUTES: dict[str, str] = {}  # a rule's template, worked out once


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a log line and an audit row know of the request they belong to."""

    request_id: str
    route: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("personal_links_request", default=None)


def request_id_from(sent: str | None) -> str:
    """The client's request id when it is 1-64 characters of ``A-Z a-z 0-9 . _ : -``; a new one otherwise."""
    if sent is not None and _SAFE_ID.fullmatch(sent):
        return sent
    # 32 hex digits, time first (milliseconds, then 80 random bits, as a UUIDv7 orders them): the audit rows' index
    # of request ids then grows at its end instead of touching a page at random for every open written. The
    # random module, not the OS: the id names a request, it guards nothing, and asking the kernel costs a click
    # more than the rest of its bookkeeping (the module reseeds in a forked worker).
    return f"{time.time_ns() // 1_000_000:012x}{random.getrandbits(80):020x}"


def current_request_id() -> str | None:
    """The id of the request (or job run) being handled, None outside one."""
    context = _current.get()
    return context.request_id if context else None


def bind(request_id: str, route: str | None = None) -> Any:
    """Make ``request_id`` the current one (jobs use it for their runs); returns the token ``unbind`` takes."""
    return _current.set(RequestContext(request_id, route))


def unbind(token: Any) -> None:
    """Restore the request context that was current before ``bind``."""
    _current.reset(token)


class ContextFilter(logging.Filter):
    """Puts the current request id and route on every record that passes a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the attributes (never drops a record)."""
        context = _current.get()
        if not hasattr(record, "request_id"):
            record.request_id = context.request_id if context else "-"
        if not hasattr(record, "route") and context and context.route:
            record.route = context.route
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, requestId, and route, status, duration."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "requestId": getattr(record, "request_id", None) or None,
        }
        if line["requestId"] == "-":
            line["requestId"] = None
        for attribute, name in _EXTRA:
            value = getattr(record, attribute, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(log_format: str, level: str) -> None:
    """Set the package loggers' level; give the root logger a stderr handler in the chosen format, once."""
    for name in PACKAGES:
        logging.getLogger(name).setLevel(level)
    root = logging.getLogger()
    ours: list[logging.Handler] = [h for h in root.handlers if getattr(h, "personal_links", False)]
    if not root.handlers:
        stream = logging.StreamHandler(sys.stderr)
        stream.personal_links = True  # type: ignore[attr-defined]
        root.addHandler(stream)
        ours = [stream]
    for each in root.handlers:  # also a test runner's capturing handlers: every line gets the id
        if not any(isinstance(f, ContextFilter) for f in each.filters):
            each.addFilter(ContextFilter())
    for handler in ours:
        handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(PLAIN))


def route_of() -> str:
    """The request's route template (``/c/<token>``), or ``<unmatched>``: never the path itself."""
    rule = request.url_rule
    if rule is None:
        return "<unmatched>"
    route = _ROUTES.get(rule.rule)
    if route is None:
        route = _ROUTES[rule.rule] = _CONVERTER.sub(r"<\1>", rule.rule)  # one per rule: a bounded cache
    return route


def init_app(app: Flask) -> None:
    """Configure logging from the app's settings and give every request its id and its last log line."""
    configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])

    @app.before_request
    def start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request_id_from(request.headers.get(HEADER))
        g.request_context_token = bind(g.request_id, route_of())

    @app.after_request
    def finish(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers[HEADER] = request_id
            elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
            g.request_seconds = elapsed
            if not access_log.isEnabledFor(logging.INFO):
                return response
            route, milliseconds = route_of(), round(elapsed * 1000, 1)
            access_log.info("%s %s %s %.1f ms", request.method, route, response.status_code, milliseconds,
                            extra={"route": route, "method": request.method, "status": response.status_code,
                                   "duration_ms": milliseconds})
        return response

    @app.teardown_request
    def end(_: BaseException | None) -> None:
        token = g.pop("request_context_token", None)
        if token is not None:
            try:
                unbind(token)
            except ValueError:  # reset from another context (a streamed body ended elsewhere): just clear it
                _current.set(None)
