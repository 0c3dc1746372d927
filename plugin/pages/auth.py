"""Signing in to the admin pages with an admin API key, and signing out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from plugin.db import db
from plugin.pages.guard import SESSION_KEY, protect, safe_next
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
def sign_in_post() -> Response | tuple[str, int]:
    """Check the key; keep only its id in a fresh session (never the key)."""
    key = request.form.get("api_key", "").strip()
    row = check_key(db.session, key, state().clock.now())
    if row is None:
        db.session.rollback()
        return render_template("admin/sign_in.html", next=request.form.get("next", ""),
                               error="That key is not a live admin API key. Check it, or ask for a new one."), 401
    db.session.commit()
    session.clear()  # a new session on sign-in: nothing from before carries over, a new CSRF token too
    session.permanent = True
    session[SESSION_KEY] = row.id
    return redirect(safe_next(request.form.get("next")))


@bp.post("/sign-out")
def sign_out() -> Response:
    """End the session."""
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("admin_auth.sign_in"))
