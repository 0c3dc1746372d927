"""The admin API's authentication: an ``x-api-key`` header (or ``Authorization: Bearer``) with a live key."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, jsonify, request

from plugin.db import db
from plugin.errors import error_body
from plugin.services.api_keys import check_key
from plugin.state import state

F = TypeVar("F", bound=Callable[..., Any])


def presented_key() -> str | None:
    """The key the request carries, if any."""
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def require_api_key(view: F) -> F:
    """Answer 401 (the host's shape) unless the request carries a live admin API key."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        row = check_key(db.session, presented_key(), state().clock.now())
        if row is None:
            db.session.rollback()
            return jsonify(error_body(401, "missing or invalid API key (send it in the x-api-key header)")), 401
        db.session.commit()
        g.actor = f"api-key:{row.prefix}"
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
