"""GET .../surveys/{surveyId}/funnel/daily: opens, starts and completions per UTC day since the first link."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.db import db
from plugin.models import Contact, Link, Survey
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from plugin.services.responses.attribution import Intake, apply_delivery
from plugin.services.responses.records import Delivery, ResponseRecord
from plugin.state import state
from tests.helpers import NOW

DAILY = "/api/personal-links/v1/surveys/survey-1/funnel/daily"


def respond(link_id: int, response_id: str, at: datetime, *, finished: bool) -> None:
    tokens = state().tokens
    record = ResponseRecord(id=response_id, survey_id="survey-1", finished=finished, created_at=at, updated_at=at,
                            contact_id=None, data={"plink": tokens.make(link_id, "survey-1")}, meta_url=None,
                            single_use_id=None)
    apply_delivery(db.session, Delivery("responseFinished", "hook", record), at, Intake(tokens, "plink"))
    db.session.commit()


def test_each_step_counts_on_the_day_a_link_first_got_there(client: FlaskClient, seeded: dict[str, Any],
                                                          api_headers: dict[str, str], clock: Any) -> None:
    survey = db.session.get(Survey, "survey-1")
    issue_links(db.session, survey, select(Contact.id), IssueOptions(), NOW - timedelta(days=1), "t")
    db.session.commit()
    ids = dict(db.session.execute(select(Contact.host_id, Link.id).join(Link)).all())
    token = state().tokens.make
    client.get(f"/c/{token(ids['c1'], 'survey-1')}")  # day 2 (NOW's day)
    clock.advance(hours=13)  # day 3, 01:00 UTC
    client.get(f"/c/{token(ids['c1'], 'survey-1')}")  # a second open of c1 is not a first open
    client.get(f"/c/{token(ids['c2'], 'survey-1')}")
    respond(ids["c2"], "r2", clock.now(), finished=True)
    respond(ids["c3"], "r3", clock.now(), finished=False)
    clock.advance(days=2)  # two quiet days: day 4 and day 5 (today)
    answer = client.get(DAILY, headers=api_headers)
    assert answer.status_code == 200
    day = lambda offset: (NOW.date() + timedelta(days=offset)).isoformat()  # noqa: E731
    assert answer.json["data"] == [
        {"date": day(-1), "opened": 0, "started": 0, "completed": 0},
        {"date": day(0), "opened": 1, "started": 0, "completed": 0},
        {"date": day(1), "opened": 1, "started": 2, "completed": 1},
        {"date": day(2), "opened": 0, "started": 0, "completed": 0},
        {"date": day(3), "opened": 0, "started": 0, "completed": 0},
    ]
    funnel = client.get("/api/personal-links/v1/surveys/survey-1/funnel", headers=api_headers).json["data"]
    for step in ("opened", "started", "completed"):
        assert sum(entry[step] for entry in answer.json["data"]) == funnel[step]


def test_no_links_no_days_and_errors(client: FlaskClient, seeded: dict[str, Any], api_headers: dict[str, str]) -> None:
    assert client.get(DAILY, headers=api_headers).json == {"data": []}
    assert client.get(DAILY).status_code == 401
    missing = client.get("/api/personal-links/v1/surveys/nope/funnel/daily", headers=api_headers)
    assert missing.status_code == 404 and missing.json["error"]["code"] == 404
