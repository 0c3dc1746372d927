"""Health checks for load balancers and operators: ``/healthz`` (alive) and ``/readyz`` (database reachable)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from plugin import error_text
from plugin.db import db
from plugin.jobs import failures
from plugin.jobs.health import job_health, remembered_health
from plugin.state import state

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The database answers; 503 otherwise, so a load balancer stops sending traffic here."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("readiness check failed: %s", exc)
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    return jsonify({"status": "ok", "database": "ok"}), 200


@bp.get("/healthz/jobs")
def jobs() -> tuple[Response, int]:
    """Scheduled jobs: 503 when one has stopped running (stale) or keeps failing, so monitoring can alert; with
    the database unreachable, 503 and the failures this process could not record."""
    now, unrecorded = state().clock.now(), failures.of(current_app).snapshot()
    try:
        report = job_health(db.session, now, current_app.config, unrecorded)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("job health check failed: %s", error_text.describe(exc))
        return jsonify({"status": "unavailable", "database": "unreachable",
                        "jobs": remembered_health(now, current_app.config, unrecorded)}), 503
    bad = {name: item for name, item in report.items() if item["status"] in ("stale", "failing")}
    return jsonify({"status": "unhealthy" if bad else "ok", "jobs": report}), 503 if bad else 200
