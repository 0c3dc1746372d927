"""Signing in to the admin pages with an admin API key, and signing out."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from plugin.db import db
from plugin.pages.guard import SESSION_KEY, protect, safe_next
from plugin.services import auth_throttle
from plugin.services.api_keys import check_key, live_key
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
    now, limits = state().clock.now(), auth_throttle.Limits.from_config(current_app.config)
    client = auth_throttle.client_of(request.remote_addr)
    before = auth_throttle.standing(db.session, client, now, limits)
    if before.wait is not None:
        db.session.rollback()
        return _too_many(before.wait)
    key = request.form.get("api_key", "").strip()
    row = check_key(db.session, key, now)
    if row is None:
        db.session.rollback()
        after = auth_throttle.record_failure(db.session, client, now, limits, "admin sign-in with a wrong key")
        db.session.commit()
        if after.wait is not None:
            return _too_many(after.wait, "That key is not a live admin API key. ")
        return render_template("admin/sign_in.html", next=request.form.get("next", ""),
                               error="That key is not a live admin API key. Check it, or ask for a new one."), 401
    auth_throttle.record_success(db.session, client, now, limits, before)
    db.session.commit()
    session.clear()  # a new session on sign-in: nothing from before carries over, a new CSRF token too
    session.permanent = True
    session[SESSION_KEY] = row.id
    return redirect(safe_next(request.form.get("next")))


def _too_many(wait: int, first: str = "") -> tuple[str, int, dict[str, str]]:
    """The sign-in page saying when to try again; the answer is 429 with Retry-After."""
    minutes = max(1, -(-wait // 60))
    error = (f"{first}Too many failed sign-ins from your address: sign-in is paused. Try again in {minutes} "
             f"minute{'s' if minutes > 1 else ''}.")
    page = render_template("admin/sign_in.html", next=request.form.get("next", ""), error=error)
    return page, 429, {"Retry-After": str(wait)}


@bp.post("/sign-out")
def sign_out() -> Response:
    """End the session."""
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("admin_auth.sign_in"))
