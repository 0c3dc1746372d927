"""Anonymous surveys end to end: 50 respondents open their links, answer on the (fake) host, the webhooks arrive,
the erasure job overwrites the tickets; then nothing in either database joins a response to a contact."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from adapters.csv_file import CsvContactSource
from plugin.db import db
from plugin.jobs.runner import run_job
from plugin.models import Contact, Survey
from plugin.services.contacts.contacts import import_contacts
from plugin.services.host.adapters import OVERRIDE_KEY, Adapters
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from plugin.state import state
from tests.helpers import NOW
from tests.plugin.formbricks_host import FakeHost
from tests.webhooks.support import SECRET, signed

SURVEY = "sv_anon"
ANSWERING, STOPPING, SILENT = 50, 3, 2
pytestmark = pytest.mark.settings(WEBHOOK_SECRETS=SECRET)


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def delivery(event: str, response: dict[str, Any]) -> bytes:
    """A webhook body built from the host's stored response, as the host sends it."""
    return json.dumps({"webhookId": "hook-1", "event": event, "data": {
        **{k: v for k, v in response.items() if k != "contactId"}, "contact": None}}).encode()


def post(client: FlaskClient, event: str, response: dict[str, Any]) -> dict[str, Any]:
    body = delivery(event, response)
    answer = client.post("/webhooks/formbricks", data=body, headers=signed(body, at=state().clock.now()))
    assert answer.status_code == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


@pytest.fixture
def anonymous_survey(app: Flask, fake_host_v5: FakeHost, client: FlaskClient,
                     api_headers: dict[str, str]) -> Iterator[FakeHost]:
    """55 contacts with links to the anonymous survey sv_anon (registered anonymous through the API)."""
    total = ANSWERING + STOPPING + SILENT
    lines = "\n".join(f"p{n:02d},person{n}@example.org,Staff" for n in range(total))
    source = CsvContactSource(text=f"id,email,segments\n{lines}\n")
    import_contacts(db.session, source.contacts(), source.segments(), NOW, "test")
    db.session.commit()
    fake_host_v5.state.add_survey(SURVEY, name="Staff survey", hidden_fields=["plink"])
    answer = client.put(f"/api/personal-links/v1/surveys/{SURVEY}", headers=api_headers, json={
        "name": "Staff survey", "publicUrl": f"{fake_host_v5.url}/s/{SURVEY}", "hiddenFieldIds": ["plink"],
        "anonymous": True})
    assert answer.status_code == 200, answer.json
    assert answer.json["data"]["anonymous"] is True and answer.json["data"]["modeChange"]["changed"] is True
    issue_links(db.session, db.session.get(Survey, SURVEY), sa.select(Contact.id), IssueOptions(), NOW, "test")
    db.session.commit()
    app.extensions[OVERRIDE_KEY] = Adapters(None, fake_host_v5.adapter())
    yield fake_host_v5
    app.extensions.pop(OVERRIDE_KEY, None)


def open_link(client: FlaskClient, link_id: int) -> tuple[str, str]:
    """Open a personal link as a respondent: where it sends them, and the ticket in the hidden field."""
    token = state().tokens.make(link_id, SURVEY)
    answer = client.get(f"/c/{token}")
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert token not in location
    return location, parse_qs(urlsplit(location).query)["plink"][0]


def every_value(session: Any) -> list[tuple[str, str, Any]]:
    """Every (table, column, value) of the sidecar's database."""
    found = []
    for table in db.metadata.sorted_tables:
        for row in session.execute(sa.select(table)).mappings():
            found.extend((table.name, column, value) for column, value in row.items() if value is not None)
    return found


def respond_all(host: FakeHost, client: FlaskClient, clock: Any) -> dict[str, Any]:
    """Everyone opens; 50 answer (created, then finished, each delivered as the host does); 3 stop half-way."""
    link_ids = list(db.session.scalars(sa.text("SELECT id FROM links ORDER BY id")))
    tickets, responses = [], []
    for index, link_id in enumerate(link_ids[:ANSWERING + STOPPING]):
        clock.advance(minutes=7, seconds=13)
        url, ticket = open_link(client, link_id)
        tickets.append(ticket)
        finished = index < ANSWERING
        response_id = host.state.add_response(SURVEY, finished=False, data={"q1": f"answer {index}",
                                                                            "plink": ticket}, url=url,
                                              updated_at=stamp(clock.now()))
        stored = next(r for r in host.state.responses if r["id"] == response_id)
        assert post(client, "responseCreated", stored)["outcome"] == "started"
        if finished:
            clock.advance(minutes=2, seconds=41)
            stored.update(finished=True, updatedAt=stamp(clock.now()))
            responses.append(stored)
            assert post(client, "responseFinished", stored)["outcome"] == "completed"
            assert post(client, "responseFinished", stored)["status"] == "duplicate"  # the same delivery again
            body = delivery("responseFinished", stored)  # a 4.x host's second send: a new webhook-id
            again = client.post("/webhooks/formbricks", data=body,
                                headers=signed(body, f"msg_{uuid.uuid4().hex}", at=clock.now()))
            assert again.json["outcome"] == "repeat"
    return {"tickets": tickets, "responses": responses, "links": link_ids}


def test_fifty_anonymous_responses_leave_nothing_that_joins_a_response_to_a_contact(
        anonymous_survey: FakeHost, client: FlaskClient, clock: Any, api_headers: dict[str, str]) -> None:
    host = anonymous_survey
    seen = respond_all(host, client, clock)
    assert run_job(client.application, "reconcile", trigger="cli").status == "succeeded"  # nothing new, no trace
    point = db.session.scalar(sa.text(f"SELECT reconciled_until FROM reconcile_points WHERE survey_id = '{SURVEY}'"))
    assert point is not None and str(point)[11:19] == "00:00:00"  # a day, not the newest response's time
    clock.advance(minutes=10)  # past the erasure delay
    assert run_job(client.application, "erase", trigger="cli").counts == {"erased": 50, "gone": 0, "failed": 0,
                                                                          "waiting": 0}
    response_ids = {r["id"] for r in seen["responses"]}
    # the documented response-update call, once per finished response, overwriting the ticket only
    puts = [line for line in host.state.requests_seen if line.startswith("PUT ")]
    assert sorted(puts) == sorted(f"PUT /api/v1/management/responses/{rid}" for rid in response_ids)
    assert host.state.response_updates == [{"id": r["id"], "data": {"plink": "anonymous"}}
                                           for r in seen["responses"]]
    for stored in host.state.responses:
        if stored["id"] in response_ids:
            assert stored["data"]["plink"] == "anonymous" and stored["data"]["q1"].startswith("answer")
    # the host's echo of each update (responseUpdated, then responseFinished: the response is finished)
    before = [row for row in every_value(db.session) if row[0] != "webhook_inbox"]
    for stored in seen["responses"]:
        assert post(client, "responseUpdated", stored)["outcome"] == "ignored"
        assert post(client, "responseFinished", stored)["outcome"] == "ignored"
    db.session.rollback()
    assert [row for row in every_value(db.session) if row[0] != "webhook_inbox"] == before

    values = every_value(db.session)
    text = "\n".join(repr(value) for _, _, value in values)
    ticket_hashes = [h for ticket in seen["tickets"][:ANSWERING] for h in state().tickets.candidates(ticket)]
    for secret in [*response_ids, *seen["tickets"][:ANSWERING], *ticket_hashes]:
        assert secret not in text, secret
    host_times = {datetime.fromisoformat(r[key].replace("Z", "+00:00")).replace(microsecond=0)
                  for r in seen["responses"] for key in ("createdAt", "updatedAt")}
    for table, column, value in values:
        if isinstance(value, datetime):
            moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).replace(microsecond=0)
            assert moment not in host_times, (table, column)
            if table in ("links", "webhook_inbox", "anonymous_tickets", "audit_events", "host_erasures"):
                assert moment == NOW or moment.time() == time(0), (table, column, value)  # issued at NOW, or a day
    tables = {name: db.session.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar()
              for name in ("response_attributions", "host_erasures")}
    assert tables == {"response_attributions": 0, "host_erasures": 0}
    assert db.session.execute(sa.text("SELECT count(*) FROM audit_events WHERE link_id IS NOT NULL "
                                      "AND action != 'issued'")).scalar() == 0
    assert set(db.session.scalars(sa.text("SELECT body FROM webhook_inbox"))) == {""}
    # only the three who stopped half-way still hold a ticket (their responses are unfinished)
    assert db.session.execute(sa.text("SELECT count(*) FROM anonymous_tickets")).scalar() == STOPPING

    # follow-up works as for an attributed survey
    funnel = client.get(f"/api/personal-links/v1/surveys/{SURVEY}/funnel", headers=api_headers).json["data"]
    assert funnel == {"issued": 55, "opened": 53, "started": 53, "completed": 50, "expired": 0, "revoked": 0,
                      "suppressed": 0}
    waiting = client.get(f"/api/personal-links/v1/surveys/{SURVEY}/non-respondents?total=true",
                         headers=api_headers).json
    assert waiting["meta"]["total"] == STOPPING + SILENT
    assert {row["contactId"] for row in waiting["data"]} == {f"p{n:02d}" for n in range(ANSWERING, 55)}
    stopped = client.get(f"/api/personal-links/v1/surveys/{SURVEY}/non-respondents?stopped=true&total=true",
                         headers=api_headers).json
    assert stopped["meta"]["total"] == STOPPING
    assert all(row["lastOpenedAt"] is None for row in stopped["data"])  # opened, but never when

    # and nobody can ask who gave a response
    some = seen["responses"][0]["id"]
    for path in (f"/api/personal-links/v1/responses/{some}/attribution",
                 f"/api/personal-links/v1/responses/{some}/attribution?surveyId={SURVEY}",
                 f"/api/personal-links/v1/contacts/p00/responses?surveyId={SURVEY}"):
        refused = client.get(path, headers=api_headers)
        assert refused.status_code == 409, path
        assert "anonymous" in refused.json["error"]["detail"]


def test_an_erasure_the_host_refuses_is_kept_and_retried(anonymous_survey: FakeHost, client: FlaskClient,
                                                         clock: Any) -> None:
    """A key without write access: the host answers 401, the erasure stays with the reason, later it succeeds."""
    host = anonymous_survey
    link_id = db.session.scalar(sa.text("SELECT min(id) FROM links"))
    url, ticket = open_link(client, link_id)
    response_id = host.state.add_response(SURVEY, data={"plink": ticket}, url=url, updated_at=stamp(NOW))
    post(client, "responseFinished", next(r for r in host.state.responses if r["id"] == response_id))
    host.state.permission = "read"
    clock.advance(minutes=10)
    assert run_job(client.application, "erase", trigger="cli").counts["failed"] == 1
    row = db.session.execute(sa.text("SELECT last_status, last_error, attempts FROM host_erasures")).one()
    assert row[0] == 401 and "'write' permission" in row[1] and response_id not in row[1] and row[2] == 1
    host.state.permission = "write"
    assert run_job(client.application, "erase", trigger="cli").counts["erased"] == 0  # waits for its backoff
    clock.advance(minutes=5)
    assert run_job(client.application, "erase", trigger="cli").counts["erased"] == 1
    assert host.state.responses[-1]["data"] == {"plink": "anonymous"}
