"""The admin API's authentication: an ``x-api-key`` header (or ``Authorization: Bearer``) with a live key."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, g, jsonify, request

from plugin.db import db
from plugin.errors import error_body
from plugin.services.admin import auth_throttle
from plugin.state import state

F = TypeVar("F", bound=Callable[..., Any])


def presented_key() -> str | None:
    """The key the request carries, if any."""
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _too_many(wait: int) -> tuple[Response, int, dict[str, str]]:
    message = (f"too many failed authentications from this address or with this key prefix; wrong keys are "
               f"refused for {wait} seconds (a live key is always accepted)")
    return jsonify(error_body(429, message)), 429, {"Retry-After": str(wait)}


def require_api_key(view: F) -> F:
    """Answer 401 (the host's shape) unless the request carries a live admin API key; a wrong key gets 429 with
    Retry-After once its address or key prefix has failed too often (services.auth_throttle); a live key never."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = presented_key()
        what = f"an unknown or revoked API key on {request.method} {request.path!r}"
        checked = auth_throttle.check(db.session, request.remote_addr, key, state().clock.now(),
                                      auth_throttle.Limits.from_config(current_app.config), what)
        if checked.key is None and checked.refused_before:
            return _too_many(checked.wait or 1)
        if checked.key is None:
            return jsonify(error_body(401, "missing or invalid API key (send it in the x-api-key header)")), 401
        row = checked.key
        g.actor = f"api-key:{row.prefix}"
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
