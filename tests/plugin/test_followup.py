"""The follow-up API: funnel, non-respondents before and after responses, expiry and revocation, lookups."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.db import db
from plugin.models import Contact, Link, Survey
from plugin.services.links.links import issue_links, revoke_link
from plugin.services.links.params import IssueOptions
from plugin.services.responses.attribution import Intake, apply_delivery
from plugin.services.responses.records import Delivery, ResponseRecord
from plugin.state import state
from tests.helpers import NOW

API = "/api/personal-links/v1"


@pytest.fixture
def issued(seeded: dict[str, Any]) -> dict[str, int]:
    """Links for c1..c4, expiring in two days; link ids by contact."""
    survey = db.session.get(Survey, seeded["survey"])
    issue_links(db.session, survey, select(Contact.id), IssueOptions(expires_at=NOW + timedelta(days=2)), NOW, "t")
    db.session.commit()
    return {host_id: link_id for host_id, link_id in db.session.execute(select(Contact.host_id, Link.id).join(Link))}


def respond(link_id: int, response_id: str, *, finished: bool) -> None:
    tokens = state().tokens
    record = ResponseRecord(id=response_id, survey_id="survey-1", finished=finished, created_at=NOW,
                            updated_at=NOW, contact_id=None, data={"plink": tokens.make(link_id, "survey-1")},
                            meta_url=None, single_use_id=None)
    event = "responseFinished" if finished else "responseCreated"
    apply_delivery(db.session, Delivery(event, "hook", record), NOW, Intake(tokens, "plink"))
    db.session.commit()


def waiting(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[str]:
    separator = "&" if query else "?"
    answer = client.get(f"{API}/surveys/survey-1/non-respondents{query}{separator}total=true", headers=headers)
    assert answer.status_code == 200, answer.json
    assert answer.json["meta"]["total"] == len(answer.json["data"])
    assert answer.json["meta"]["nextCursor"] is None
    return [row["contactId"] for row in answer.json["data"]]


def test_non_respondents_page_by_cursor_without_counting(client: FlaskClient, api_headers: dict[str, str],
                                                         issued: dict[str, int]) -> None:
    """Keyset pages: each contact exactly once, in order, and no total unless asked for."""
    seen, after, pages = [], "", 0
    while True:
        answer = client.get(f"{API}/surveys/survey-1/non-respondents?limit=3{after}", headers=api_headers)
        assert answer.status_code == 200 and "total" not in answer.json["meta"]
        seen += [row["contactId"] for row in answer.json["data"]]
        pages += 1
        cursor = answer.json["meta"]["nextCursor"]
        if cursor is None:
            break
        after = f"&after={cursor}"
    assert (seen, pages) == (["c1", "c2", "c3", "c4"], 2)
    respond(issued["c1"], "r1", finished=True)  # an answer between two pages does not shift the next one
    first = client.get(f"{API}/surveys/survey-1/non-respondents?limit=2", headers=api_headers).json
    assert [row["contactId"] for row in first["data"]] == ["c2", "c3"]
    rest = client.get(f"{API}/surveys/survey-1/non-respondents?after={first['meta']['nextCursor']}",
                      headers=api_headers).json
    assert [row["contactId"] for row in rest["data"]] == ["c4"]
    for bad in ("x", "-1", "99999999999"):
        refused = client.get(f"{API}/surveys/survey-1/non-respondents?after={bad}", headers=api_headers)
        assert refused.status_code == 422 and refused.json["error"]["details"][0]["field"] == "after"


def test_non_respondents_before_and_after_responses(client: FlaskClient, api_headers: dict[str, str],
                                                    issued: dict[str, int]) -> None:
    assert waiting(client, api_headers) == ["c1", "c2", "c3", "c4"]
    respond(issued["c1"], "r1", finished=True)
    respond(issued["c2"], "r2", finished=False)
    assert waiting(client, api_headers) == ["c2", "c3", "c4"]
    assert waiting(client, api_headers, "?stopped=true") == ["c2"]
    assert waiting(client, api_headers, "?segment=alpha") == ["c2", "c3"]


def test_non_respondents_reflect_revocation_and_expiry_when_asked(client: FlaskClient, api_headers: dict[str, str],
                                                                  issued: dict[str, int], clock: Any) -> None:
    revoke_link(db.session, issued["c3"], NOW, "t")
    db.session.commit()
    assert waiting(client, api_headers) == ["c1", "c2", "c4"]
    clock.advance(days=2)
    assert waiting(client, api_headers) == []


def test_non_respondent_fields_for_a_reminder_tool(client: FlaskClient, api_headers: dict[str, str],
                                                   issued: dict[str, int]) -> None:
    respond(issued["c2"], "r2", finished=False)
    row = client.get(f"{API}/surveys/survey-1/non-respondents?stopped=1", headers=api_headers).json["data"][0]
    assert row["email"] == "two@example.com" and row["state"] == "live"
    assert row["surveyUrl"].startswith("https://links.example.com/c/")
    assert row["startedAt"] == "2026-11-28T12:00:00.000Z" and row["expiresAt"] == "2026-11-30T12:00:00.000Z"


def test_non_respondents_csv(client: FlaskClient, api_headers: dict[str, str], issued: dict[str, int]) -> None:
    respond(issued["c1"], "r1", finished=True)
    answer = client.get(f"{API}/surveys/survey-1/non-respondents.csv", headers=api_headers)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0][:6] == ["Contact ID", "Custom ID", "First Name", "Last Name", "Email", "Personal Link"]
    assert [row[0] for row in rows[1:]] == ["c2", "c3", "c4"]
    assert rows[-1][2:5] == ["'+Eve", "'-Evil", "'=HYPERLINK(\"x\")"]  # formulas neutralised


def test_funnel(client: FlaskClient, api_headers: dict[str, str], issued: dict[str, int], clock: Any) -> None:
    client.get(f"/c/{state().tokens.make(issued['c1'], 'survey-1')}")
    respond(issued["c1"], "r1", finished=True)
    respond(issued["c2"], "r2", finished=False)
    revoke_link(db.session, issued["c3"], NOW, "t")
    db.session.commit()
    clock.advance(days=3)
    answer = client.get(f"{API}/surveys/survey-1/funnel", headers=api_headers)
    assert answer.json["data"] == {"issued": 4, "opened": 1, "started": 2, "completed": 1, "expired": 2,
                                   "revoked": 1, "suppressed": 0}


def test_attribution_lookups(client: FlaskClient, api_headers: dict[str, str], issued: dict[str, int]) -> None:
    respond(issued["c1"], "r1", finished=True)
    respond(issued["c1"], "r2", finished=True)
    found = client.get(f"{API}/responses/r1/attribution", headers=api_headers).json["data"]
    assert (found["contactId"], found["status"], found["linkId"]) == ("c1", "attributed", issued["c1"])
    given = client.get(f"{API}/contacts/c1/responses?surveyId=survey-1", headers=api_headers).json["data"]
    assert [(row["responseId"], row["status"]) for row in given] == [("r1", "attributed"), ("r2", "duplicate")]
    assert client.get(f"{API}/responses/nope/attribution", headers=api_headers).status_code == 404
    assert client.get(f"{API}/contacts/nope/responses", headers=api_headers).status_code == 404


def test_followup_needs_a_key_and_is_documented(client: FlaskClient, issued: dict[str, int]) -> None:
    assert client.get(f"{API}/surveys/survey-1/funnel").status_code == 401
    paths = client.get("/openapi.json").json["paths"]
    for path in ("/surveys/{surveyId}/funnel", "/surveys/{surveyId}/non-respondents",
                 "/surveys/{surveyId}/non-respondents.csv", "/responses/{responseId}/attribution",
                 "/contacts/{contactId}/responses"):
        assert "get" in paths[API + path]
