"""Signing in to the admin pages with an admin API key, and signing out."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from plugin.db import db
from plugin.pages.guard import SESSION_KEY, protect, safe_next
from plugin.services.admin import auth_throttle
from plugin.services.admin.api_keys import live_key
from plugin.state import state

bp = protect(Blueprint("admin_auth", __name__, url_prefix="/admin"))


@bp.get("/sign-in")
def sign_in() -> Response | str:
    """The sign-in form; a visitor already signed in goes on."""
    if live_key(db.session, session.get(SESSION_KEY)) is not None:
        return redirect(safe_next(request.args.get("next")))
    return render_template("admin/sign_in.html", next=request.args.get("next", ""))


@bp.post("/sign-in")
def sign_in_post() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Check the key; keep only its id in a fresh session (never the key)."""
    checked = auth_throttle.check(db.session, request.remote_addr, request.form.get("api_key", "").strip(),
                                  state().clock.now(), auth_throttle.Limits.from_config(current_app.config),
                                  "admin sign-in with a wrong key")
    if checked.key is None and checked.wait is not None:
        return _too_many(checked.wait, "" if checked.refused_before else "That key is not a live admin API key. ")
    if checked.key is None:
        return render_template("admin/sign_in.html", next=request.form.get("next", ""),
                               error="That key is not a live admin API key. Check it, or ask for a new one."), 401
    target = safe_next(request.form.get("next"))  # decided before the session is: an unsafe one is dropped
    session.clear()  # a new session on sign-in: nothing from before carries over, a new CSRF token too
    session.permanent = True
    session[SESSION_KEY] = checked.key.id
    return redirect(target)


def _too_many(wait: int, first: str = "") -> tuple[str, int, dict[str, str]]:
    """The sign-in page saying how long wrong keys are refused; the answer is 429 with Retry-After."""
    minutes = max(1, -(-wait // 60))
    error = (f"{first}Too many failed sign-ins from your address: wrong keys are refused for {minutes} "
             f"minute{'s' if minutes > 1 else ''}. A live admin API key still signs you in.")
    page = render_template("admin/sign_in.html", next=request.form.get("next", ""), error=error)
    return page, 429, {"Retry-After": str(wait)}


@bp.post("/sign-out")
def sign_out() -> Response:
    """End the session."""
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("admin_auth.sign_in"))
