"""Health checks for load balancers and operators: ``/healthz`` (alive) and ``/readyz`` (database takes writes)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from plugin import error_text, readiness
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
    """The database answers and takes a write (``plugin.readiness``); 503 with the reason otherwise, so a load
    balancer stops sending traffic here."""
    checks = current_app.extensions.setdefault(readiness.KEY, readiness.ReadinessCheck())
    found = checks.check(db.engine, state().clock.now())
    if not found.ready:
        return jsonify({"status": "unavailable", "database": found.database,
                        "reason": readiness.REASONS[found.database]}), 503
    return jsonify({"status": "ok", "database": found.database}), 200


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
