"""The admin page of the survey host: the host check, line by line with what to do."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from plugin.manifest import manifest
from plugin.pages.guard import admin_required, protect
from plugin.services.host import host_check
from plugin.state import state

bp = protect(Blueprint("admin_host", __name__, url_prefix="/admin"))


@bp.get("/host")
@admin_required
def host_page() -> str:
    """What works with this host and key (the same report as ``personal-links host check``)."""
    report = host_check.check_configured(current_app, manifest(), state().hidden_field, now=state().clock.now())
    return render_template("admin/host.html", report=report)
