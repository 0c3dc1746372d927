"""What every admin page shares: the signed-in admin, a CSRF token bound to the session, safe headers."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from plugin.db import db
from plugin.errors import ServiceError
from plugin.headers import harden
from plugin.services.admin.api_keys import live_key
from plugin.services.text import UnstorableText
from plugin.state import state

F = TypeVar("F", bound=Callable[..., Any])

SESSION_KEY = "admin_key_id"
CSRF_SESSION = "csrf"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token() -> str:
    """The session's CSRF token, made on first use; every admin form sends it back."""
    token = session.get(CSRF_SESSION)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION] = token
    return token


def csrf_ok(sent: str | None) -> bool:
    """Whether a form's token matches the session's, compared in constant time."""
    expected = session.get(CSRF_SESSION)
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode("utf-8", "surrogatepass"))


def message(title: str, sentence: str, status: int) -> tuple[str, int]:
    """A plain admin page that says one thing."""
    return render_template("admin/message.html", title=title, sentence=sentence), status


def _check_csrf() -> tuple[str, int] | None:
    if request.method in SAFE_METHODS or csrf_ok(request.form.get(CSRF_FIELD)):
        return None
    return message("Form refused", "This form was not sent from this site's page, or the page is too old. "
                                   "Go back, reload the page and try again.", 400)


def _service_error(exc: ServiceError) -> tuple[str, int]:
    db.session.rollback()
    return message("Not possible", exc.message, exc.status)


def _unstorable_text(exc: UnstorableText) -> tuple[str, int]:
    db.session.rollback()
    return message("Input refused", f"{exc.message}. Go back, remove it and try again.", 400)


def protect(bp: Blueprint) -> Blueprint:
    """Give a pages blueprint the CSRF check on every unsafe request, safe headers and HTML error pages."""
    bp.before_request(_check_csrf)
    bp.after_request(harden)
    bp.register_error_handler(ServiceError, _service_error)
    bp.register_error_handler(UnstorableText, _unstorable_text)
    bp.context_processor(lambda: {"csrf_token": csrf_token, "csrf_field": CSRF_FIELD})
    return bp


def admin_required(view: F) -> F:
    """Send visitors to sign in unless the session holds a live key; a revoked key ends the session here."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = live_key(db.session, session.get(SESSION_KEY))
        if key is None:
            ended = SESSION_KEY in session
            session.clear()
            if ended:
                flash("Your session ended because its API key was revoked. Sign in with a live key.")
            target = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("admin_auth.sign_in", next=target))
        g.actor = f"api-key:{key.prefix}"
        g.admin_key = key
        g.now = state().clock.now()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: an admin path of this site only, never another site, and nothing that
    cannot stand in a Location header (a CR or LF there is a 500; control characters have no place in it)."""
    if (target and target.startswith("/admin/") and not target.startswith("//") and "\\" not in target
            and target.isprintable()):
        return target
    return url_for("admin_surveys.list_surveys")
