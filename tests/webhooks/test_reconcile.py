"""Reconciling missed webhooks from the host's responses listing, through the webhook's own code path."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from adapters.formbricks import FormbricksAdapter
from plugin.db import db
from plugin.jobs.runner import run_job
from plugin.models import JobRun, Link, ReconcilePoint, ResponseAttribution
from plugin.services.host.reconcile import ReconcileFailed, reconcile
from plugin.services.responses.attribution import Intake
from plugin.state import state
from tests.helpers import NOW
from tests.webhooks.support import SURVEY_ID, response_body, signed, token_of

HOST = "https://fb.example.com"
LISTING = f"{HOST}/api/v2/management/responses"
FORMBRICKS = {"SURVEY_HOST": "formbricks", "FORMBRICKS_URL": HOST, "FORMBRICKS_API_KEY": "fbk_test",
              "FORMBRICKS_WORKSPACE_ID": "ws1"}


def host_response(response_id: str, token: str | None, *, finished: bool = True, minutes: int = 0,
                  started_days_before: int = 0) -> dict[str, Any]:
    """A v2 listing item as the host answers it (flat contactId, hidden fields in data)."""
    updated = NOW + timedelta(minutes=minutes)
    created = updated - timedelta(days=started_days_before)
    stamp = lambda at: at.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
    return {"id": response_id, "createdAt": stamp(created), "updatedAt": stamp(updated), "surveyId": SURVEY_ID,
            "contactId": None,
            "finished": finished, "data": {"q1": "yes", **({"plink": token} if token else {})},
            "meta": {"url": f"https://forms.example.com/s/{SURVEY_ID}"}, "singleUseId": None}


def listing(*items: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"data": list(items)}
    if total is not None:
        body["meta"] = {"total": total, "limit": 250, "offset": 0}
    return body


def intake() -> Intake:
    return Intake(state().tokens, "plink")


def host() -> FormbricksAdapter:
    return FormbricksAdapter(HOST, "fbk_test", "ws1")


@responses.activate
def test_missed_webhook_is_attributed_and_a_later_webhook_changes_nothing(client: FlaskClient,
                                                                          links: dict[str, int]) -> None:
    token = token_of(links["c1"])
    responses.get(LISTING, json=listing(host_response("r1", token), host_response("r2", None),
                                        host_response("r3", token_of(links["c2"]), finished=False)))
    responses.get(LISTING, json=listing())  # survey-2's listing: nothing
    counts = reconcile(db.session, host(), NOW, intake())
    assert counts == {"surveys": 2, "applied": 2}  # r1 attributed, r2 without a token recorded unattributed
    statuses = dict(db.session.execute(select(ResponseAttribution.response_id, ResponseAttribution.status)).all())
    assert statuses == {"r1": "attributed", "r2": "unattributed"}
    assert db.session.get(Link, links["c1"]).use_count == 1
    assert db.session.get(ReconcilePoint, SURVEY_ID).reconciled_until == NOW

    body = response_body("responseFinished", "r1", token, finished=True)
    answer = client.post("/webhooks/formbricks", data=body, headers=signed(body))
    assert answer.status_code == 200
    db.session.expire_all()
    assert db.session.get(Link, links["c1"]).use_count == 1
    assert db.session.scalar(select(func.count()).select_from(ResponseAttribution)) == 2

    again = reconcile(db.session, host(), NOW, intake())  # nothing new: nothing applied twice
    assert again == {"surveys": 2, "applied": 0}
    assert all(call.request.params.get("order") == "desc" for call in responses.calls)


@responses.activate
def test_host_failing_mid_reconcile_leaves_the_point_where_it_was(links: dict[str, int]) -> None:
    db.session.add(ReconcilePoint(survey_id=SURVEY_ID, reconciled_until=NOW - timedelta(days=1), updated_at=NOW))
    db.session.commit()
    first_page = listing(host_response("r1", token_of(links["c1"]), minutes=5), total=300)
    responses.get(LISTING, json=first_page, match=[responses.matchers.query_param_matcher(
        {"surveyId": SURVEY_ID, "skip": "0"}, strict_match=False)])
    responses.get(LISTING, status=500, json={"error": {"code": 500, "message": "Internal Server Error"}},
                  match=[responses.matchers.query_param_matcher({"surveyId": SURVEY_ID, "skip": "250"},
                                                                strict_match=False)])
    responses.get(LISTING, json=listing(), match=[responses.matchers.query_param_matcher(
        {"surveyId": "survey-2"}, strict_match=False)])
    with pytest.raises(ReconcileFailed) as caught:
        reconcile(db.session, host(), NOW, intake())
    assert list(caught.value.failed) == [SURVEY_ID]
    assert db.session.get(ReconcilePoint, SURVEY_ID).reconciled_until == NOW - timedelta(days=1)
    assert db.session.scalar(select(func.count()).select_from(ResponseAttribution)) == 0
    assert db.session.get(Link, links["c1"]).use_count == 0


@responses.activate
def test_a_response_started_before_the_point_and_finished_after_it_is_found(links: dict[str, int]) -> None:
    db.session.add(ReconcilePoint(survey_id=SURVEY_ID, reconciled_until=NOW - timedelta(hours=1), updated_at=NOW))
    db.session.commit()
    late = host_response("r-late", token_of(links["c2"]), minutes=30, started_days_before=5)
    stale = host_response("r-old", token_of(links["c3"]), minutes=-24 * 60)
    responses.get(LISTING, json=listing(late, stale), match=[responses.matchers.query_param_matcher(
        {"surveyId": SURVEY_ID}, strict_match=False)])
    responses.get(LISTING, json=listing())
    assert reconcile(db.session, host(), NOW, intake()) == {"surveys": 2, "applied": 1}
    assert db.session.get(Link, links["c2"]).use_count == 1
    assert db.session.get(Link, links["c3"]).use_count == 0  # older than the point: not this run's business
    assert db.session.get(ReconcilePoint, SURVEY_ID).reconciled_until == NOW + timedelta(minutes=30)


@pytest.mark.settings(**FORMBRICKS)
@responses.activate
def test_reconcile_job_records_its_run(app: Flask, links: dict[str, int]) -> None:
    responses.get(LISTING, json=listing(host_response("r9", token_of(links["c3"]))))
    outcome = run_job(app, "reconcile", trigger="cli")
    assert outcome.status == "succeeded" and outcome.counts == {"surveys": 2, "applied": 1}
    responses.replace(responses.GET, LISTING, status=503, body="upstream down")
    failed = run_job(app, "reconcile", trigger="cli")
    assert failed.status == "failed" and "reconcile failed for 2 survey(s)" in (failed.error or "")
    assert [run.status for run in db.session.scalars(select(JobRun).order_by(JobRun.id))] == ["succeeded", "failed"]


def test_reconcile_job_without_a_survey_host_does_nothing(app: Flask) -> None:
    assert run_job(app, "reconcile", trigger="cli").counts == {"surveys": 0, "applied": 0, "skipped": 1}


def test_retry_backs_off_and_gives_up(app: Flask, client: FlaskClient, links: dict[str, int],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    from plugin.services.responses import attribution
    from webhooks.models import InboxDelivery

    def locked(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    monkeypatch.setattr(attribution, "apply_delivery", locked)
    body = response_body("responseFinished", "r1", token_of(links["c1"]), finished=True)
    assert client.post("/webhooks/formbricks", data=body, headers=signed(body)).status_code == 202
    clock = state().clock
    seen = []
    for _ in range(12):
        outcome = run_job(app, "retry", trigger="cli")
        row = db.session.scalar(select(InboxDelivery))
        db.session.refresh(row)
        seen.append((outcome.counts, row.status, row.attempts))
        if row.next_attempt_at:
            clock.at = row.next_attempt_at  # type: ignore[attr-defined]
    assert seen[0] == ({"applied": 0, "failed": 1, "gaveUp": 0, "ignored": 0}, "failed", 2)
    assert seen[1][0]["failed"] == 1
    dead_at = next(i for i, (_, status, _) in enumerate(seen) if status == "dead")
    assert seen[dead_at][2] == 10 and seen[dead_at][0]["gaveUp"] == 1
    assert all(counts == {"applied": 0, "failed": 0, "gaveUp": 0, "ignored": 0} for counts, _, _ in seen[dead_at + 1:])
    assert json.loads(row.body)["data"]["id"] == "r1"  # kept for the admin, not lost


def test_admin_lists_dead_deliveries_and_queues_them_again(app: Flask, client: FlaskClient,
                                                            api_headers: dict[str, str]) -> None:
    from webhooks.models import InboxDelivery

    db.session.add(InboxDelivery(webhook_id="w-dead", received_at=NOW, event="responseFinished", body="{}",
                                 status="dead", attempts=10, last_error="database is locked"))
    db.session.add(InboxDelivery(webhook_id="w-ok", received_at=NOW, event="responseFinished", body="{}",
                                 status="applied", attempts=1))
    db.session.commit()
    url = "/api/personal-links/v1/webhooks/deliveries"
    dead = client.get(url, headers=api_headers, query_string={"status": "dead"}).get_json()
    assert [(d["webhookId"], d["attempts"]) for d in dead["data"]] == [("w-dead", 10)] and dead["meta"]["total"] == 1
    assert "body" not in dead["data"][0]
    requeued = client.post(f"{url}/{dead['data'][0]['id']}/requeue", headers=api_headers).get_json()["data"]
    assert (requeued["status"], requeued["attempts"]) == ("failed", 0)
    applied_id = db.session.scalar(select(InboxDelivery.id).where(InboxDelivery.webhook_id == "w-ok"))
    assert client.post(f"{url}/{applied_id}/requeue", headers=api_headers).status_code == 400
    assert client.get(url, headers=api_headers, query_string={"status": "odd"}).status_code == 422
