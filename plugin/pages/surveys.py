"""The admin pages' start: the host's surveys with their status and what each lacks for personal links."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from plugin.db import db
from plugin.pages.guard import admin_required, protect
from plugin.services import surveys
from plugin.state import state

bp = protect(Blueprint("admin_surveys", __name__, url_prefix="/admin"))


@bp.get("/")
def index() -> Response:
    """The admin pages start at the survey list."""
    return redirect(url_for("admin_surveys.list_surveys"))


@bp.get("/surveys")
@admin_required
def list_surveys() -> str:
    """Every survey with its status and warnings (a missing hidden field says what to add)."""
    field = state().hidden_field
    rows = [(survey, surveys.warnings_for(survey, field)) for survey in surveys.list_surveys(db.session)]
    return render_template("admin/surveys.html", rows=rows, hidden_field=field)
