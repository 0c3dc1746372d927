"""Scheduled work through the admin API: the last runs of each job, and running one now."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from plugin.api.auth import require_api_key
from plugin.clock import iso
from plugin.db import db
from plugin.errors import NotFound, error_body
from plugin.jobs.runner import recent_runs, run_job
from plugin.jobs.tasks import JOBS
from plugin.models import JobRun
from plugin.openapi import error_responses, json_response, param
from plugin.services.links.params import parse_choice, parse_int

bp = Blueprint("jobs", __name__, url_prefix="/api/personal-links/v1/jobs")


def run_json(run: JobRun) -> dict[str, Any]:
    """A run as the API shows it."""
    return {"id": run.id, "job": run.job, "trigger": run.trigger, "holder": run.holder, "status": run.status,
            "periodStart": iso(run.period_start), "startedAt": iso(run.started_at),
            "finishedAt": iso(run.finished_at), "counts": run.counts, "error": run.error}


@bp.get("/runs")
@require_api_key
def runs() -> Response:
    """The newest runs, of one job or all."""
    job = parse_choice("job", request.args.get("job"), JOBS)
    limit = parse_int("limit", request.args.get("limit"), 1, 500, default=50)
    return jsonify({"data": [run_json(run) for run in recent_runs(job, limit)]})


@bp.post("/<name>/run")
@require_api_key
def run_now(name: str) -> tuple[Response, int]:
    """Run a job now, outside its schedule; the answer is the recorded run."""
    if name not in JOBS:
        raise NotFound("job", f"no job {name!r}; known: {', '.join(sorted(JOBS))}")
    outcome = run_job(current_app._get_current_object(), name, trigger="api")  # type: ignore[attr-defined]
    if outcome.run_id is None:  # the database took no record of it: the failure is all there is to show
        return jsonify(error_body(503, f"job {name} failed and its run could not be recorded: {outcome.error}")), 503
    run = db.session.get_one(JobRun, outcome.run_id)
    return jsonify({"data": run_json(run)}), 200 if outcome.status == "succeeded" else 500


_RUNS = {"type": "object", "properties": {"data": {"type": "array", "items": {"type": "object"}}}}
PATHS = {
    "/api/personal-links/v1/jobs/runs": {"get": {
        "summary": "The newest runs of the scheduled jobs",
        "parameters": [param("job", schema={"enum": sorted(JOBS)}),
                       param("limit", schema={"type": "integer", "minimum": 1, "maximum": 500})],
        "responses": {**json_response("runs", _RUNS), **error_responses(401, 422)}}},
    "/api/personal-links/v1/jobs/{name}/run": {"post": {
        "summary": "Run a job now (recorded like a scheduled run)",
        "parameters": [param("name", "path", {"enum": sorted(JOBS)})],
        "responses": {**json_response("the run", {"type": "object"}), **error_responses(401, 404, 500, 503)}}},
}
