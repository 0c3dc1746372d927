"""The admin pages' start: the host's surveys with their status and what each lacks for personal links."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response

from plugin.db import db
from plugin.pages.guard import admin_required, protect
from plugin.services.anonymity import anonymity
from plugin.services.anonymity.erasure import erasing_host
from plugin.services.host import surveys
from plugin.services.host.adapters import survey_host_provider
from plugin.state import state

bp = protect(Blueprint("admin_surveys", __name__, url_prefix="/admin"))


@bp.get("/")
def index() -> Response:
    """The admin pages start at the survey list."""
    return redirect(url_for("admin_surveys.list_surveys"))


@bp.get("/surveys")
@admin_required
def list_surveys() -> str:
    """Every survey with its status, warnings (a missing hidden field says what to add) and mode (anonymous:
    the erasure state of its tickets)."""
    field = state().hidden_field
    can_erase = erasing_host(survey_host_provider(current_app)()) is not None
    rows = [(survey, surveys.warnings_for(survey, field), anonymity.mode_of(db.session, survey, can_erase))
            for survey in surveys.list_surveys(db.session)]
    return render_template("admin/surveys.html", rows=rows, hidden_field=field)
