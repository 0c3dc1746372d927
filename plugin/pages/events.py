"""The admin page of outbound events: subscriptions (the secret shown once, at creation), recent deliveries."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from plugin.db import db
from plugin.errors import ServiceError
from plugin.pages.guard import admin_required, protect
from plugin.services.events import delivery_log, events, subscriptions

bp = protect(Blueprint("admin_events", __name__, url_prefix="/admin"))
RECENT = 20


def _render(*, created: subscriptions.Created | None = None, error: str | None = None, status: int = 200,
            form: dict[str, object] | None = None) -> tuple[str, int]:
    _, recent = delivery_log.list_deliveries(db.session, limit=RECENT)
    return render_template("admin/events.html", subscriptions=subscriptions.list_subscriptions(db.session),
                           recent=recent, kinds=events.KINDS, created=created, error=error,
                           form=form or {}), status


@bp.get("/events")
@admin_required
def events_page() -> tuple[str, int]:
    """Subscriptions, a form to add one, and the newest deliveries."""
    return _render()


@bp.post("/events/subscriptions")
@admin_required
def create() -> tuple[str, int]:
    """Add a subscription; the page shows its secret this once (it is not kept in the session or a flash)."""
    form: dict[str, object] = {"url": request.form.get("url", ""), "events": request.form.getlist("events"),
            "description": request.form.get("description", "")}
    try:
        created = subscriptions.create_subscription(db.session, form, g.now)
    except ServiceError as exc:
        db.session.rollback()
        return _render(error=exc.message, status=exc.status, form=form)
    db.session.commit()
    return _render(created=created, status=201)


@bp.post("/events/subscriptions/<int:subscription_id>/delete")
@admin_required
def delete(subscription_id: int) -> Response:
    """Remove a subscription and its deliveries."""
    subscriptions.delete_subscription(db.session, subscription_id)
    db.session.commit()
    flash(f"Subscription {subscription_id} is removed: nothing more is sent to it.")
    return redirect(url_for("admin_events.events_page"))
