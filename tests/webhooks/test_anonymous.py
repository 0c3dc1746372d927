"""Switching a survey's mode, and what the anonymous intake does with each kind of delivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from plugin.db import db
from plugin.models import AuditEvent, HostErasure, Link, ResponseAttribution
from plugin.state import state
from tests.helpers import NOW
from tests.webhooks.support import SURVEY_ID, response_body, signed, token_of

URL = "/webhooks/formbricks"
SURVEY = f"/api/personal-links/v1/surveys/{SURVEY_ID}"


def deliver(client: FlaskClient, event: str, response_id: str, value: str | None, *, finished: bool,
            **kwargs: Any) -> dict[str, Any]:
    body = response_body(event, response_id, value, finished=finished, **kwargs)
    answer = client.post(URL, data=body, headers=signed(body, at=state().clock.now()))
    assert answer.status_code == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


def count(model: Any, *where: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def ticket_of(client: FlaskClient, link_id: int) -> str:
    location = client.get(f"/c/{token_of(link_id)}").headers["Location"]
    return parse_qs(urlsplit(location).query)["plink"][0]


def make_anonymous(client: FlaskClient, headers: dict[str, str], **extra: Any) -> Any:
    return client.put(SURVEY, headers=headers, json={"anonymous": True, **extra})


@pytest.fixture
def answered(client: FlaskClient, links: dict[str, int]) -> dict[str, int]:
    """c1 opened and answered survey-1 while it was attributed (an attribution, audit rows, a stored body)."""
    client.get(f"/c/{token_of(links['c1'])}")
    deliver(client, "responseFinished", "r-before", token_of(links["c1"]), finished=True,
            created=NOW + timedelta(minutes=3, seconds=7), updated=NOW + timedelta(minutes=9, seconds=5))
    assert count(ResponseAttribution) == 1
    return links


def test_switching_to_anonymous_needs_the_flag_and_says_how_many_attributions_go(
        client: FlaskClient, answered: dict[str, int], api_headers: dict[str, str]) -> None:
    refused = make_anonymous(client, api_headers)
    assert refused.status_code == 409
    assert "erases its 1 attribution(s)" in refused.json["error"]["message"]  # where docs/anonymity.md says
    assert refused.json["error"]["detail"] == refused.json["error"]["message"]
    assert refused.json["error"]["details"] == [{"field": "eraseAttributions", "issue": "required"}]
    db.session.expire_all()
    assert count(ResponseAttribution) == 1 and client.get(SURVEY.rsplit("/", 1)[0], headers=api_headers).json[
        "data"][0]["anonymous"] is False


def test_a_survey_with_nothing_to_erase_becomes_anonymous_without_the_flag(
        client: FlaskClient, links: dict[str, int], api_headers: dict[str, str]) -> None:
    answer = make_anonymous(client, api_headers)  # links issued, none opened or answered: nothing to lose
    assert answer.status_code == 200, answer.json
    assert answer.json["data"]["anonymous"] is True
    assert answer.json["data"]["modeChange"] == {"changed": True, "attributionsErased": 0, "hostErasuresQueued": 0}
    assert count(AuditEvent, AuditEvent.action == "anonymous") == 1


def test_opens_without_answers_still_need_the_flag(client: FlaskClient, links: dict[str, int],
                                                   api_headers: dict[str, str]) -> None:
    client.get(f"/c/{token_of(links['c2'])}")  # its open time goes with the switch: the admin decides
    refused = make_anonymous(client, api_headers)
    assert refused.status_code == 409
    assert "erases its 0 attribution(s) and the open times of 1 link(s)" in refused.json["error"]["message"]
    db.session.expire_all()
    assert db.session.get(Link, links["c2"]).first_opened_at is not None


def test_switching_erases_attributions_opens_audit_rows_and_bodies(
        client: FlaskClient, answered: dict[str, int], api_headers: dict[str, str]) -> None:
    answer = make_anonymous(client, api_headers, eraseAttributions=True)
    assert answer.status_code == 200, answer.json
    assert answer.json["data"]["modeChange"] == {"changed": True, "attributionsErased": 1, "hostErasuresQueued": 1}
    assert answer.json["data"]["anonymousSince"] == NOW.date().isoformat()
    db.session.expire_all()
    assert count(ResponseAttribution) == 0
    assert count(AuditEvent, AuditEvent.survey_id == SURVEY_ID, AuditEvent.actor.in_(("respondent", "webhook"))) == 0
    assert db.session.scalar(sa.select(HostErasure.response_id)) == "r-before"  # its token goes on the host too
    link = db.session.get(Link, answered["c1"])
    assert (link.first_opened_at, link.last_opened_at, link.open_count) == (None, None, 1)
    assert link.completed_at == NOW.replace(hour=0) and link.started_at == NOW.replace(hour=0)
    assert db.session.scalar(sa.text("SELECT body FROM webhook_inbox")) == ""


def test_a_new_survey_is_registered_anonymous_without_the_flag(client: FlaskClient,
                                                                api_headers: dict[str, str]) -> None:
    answer = client.put("/api/personal-links/v1/surveys/fresh", headers=api_headers,
                        json={"publicUrl": "https://forms.example.com/s/fresh", "anonymous": True})
    assert answer.status_code == 200 and answer.json["data"]["anonymous"] is True


@pytest.mark.parametrize("body", [{"anonymous": "yes"}, {"anonymous": 1},
                                  {"anonymous": True, "eraseAttributions": "1"}])
def test_a_mode_that_is_not_true_or_false_is_422(client: FlaskClient, links: dict[str, int],
                                                 api_headers: dict[str, str], body: dict[str, Any]) -> None:
    answer = client.put(SURVEY, headers=api_headers, json=body)
    assert answer.status_code == 422 and answer.json["error"]["details"][0]["issue"] == "true or false"


def test_a_probe_of_an_anonymous_link_stores_no_ticket(client: FlaskClient, links: dict[str, int],
                                                       api_headers: dict[str, str]) -> None:
    make_anonymous(client, api_headers, eraseAttributions=True)
    answer = client.head(f"/c/{token_of(links['c2'])}")
    assert answer.status_code == 302 and "plink" not in answer.headers["Location"]
    assert db.session.execute(sa.text("SELECT count(*) FROM anonymous_tickets")).scalar() == 0


def test_the_hosts_echo_of_an_erasure_changes_nothing(client: FlaskClient, links: dict[str, int]) -> None:
    outcome = deliver(client, "responseFinished", "r-echo", "anonymous", finished=True)
    assert outcome["outcome"] == "ignored"
    assert count(ResponseAttribution) == 0 and count(HostErasure) == 0


def test_a_ticket_answered_after_switching_back_stays_anonymous(client: FlaskClient, links: dict[str, int],
                                                                 api_headers: dict[str, str]) -> None:
    make_anonymous(client, api_headers, eraseAttributions=True)
    ticket = ticket_of(client, links["c2"])
    assert client.put(SURVEY, headers=api_headers, json={"anonymous": False}).json["data"]["anonymous"] is False
    assert deliver(client, "responseFinished", "r-late-ticket", ticket, finished=True)["outcome"] == "completed"
    assert count(ResponseAttribution) == 0
    assert db.session.get(Link, links["c2"]).use_count == 1


def test_a_second_response_through_a_used_up_link_is_counted_for_the_survey(
        client: FlaskClient, links: dict[str, int], api_headers: dict[str, str]) -> None:
    make_anonymous(client, api_headers, eraseAttributions=True)
    first, second = ticket_of(client, links["c3"]), ticket_of(client, links["c3"])  # two tabs
    assert deliver(client, "responseFinished", "r-1", first, finished=True)["outcome"] == "completed"
    # the link is used up: its other ticket was forgotten with the first response, so this one is unmatched
    assert deliver(client, "responseFinished", "r-2", second, finished=True)["outcome"] == "unmatched"
    tally = db.session.execute(sa.text("SELECT duplicates, unmatched FROM anonymous_tallies")).one()
    assert tuple(tally) == (0, 1)


def test_a_late_anonymous_response_completes_the_link_without_using_it(
        client: FlaskClient, links: dict[str, int], api_headers: dict[str, str]) -> None:
    make_anonymous(client, api_headers, eraseAttributions=True)
    link = db.session.get(Link, links["c1"])
    link.expires_at = NOW + timedelta(hours=1)
    db.session.commit()
    ticket = ticket_of(client, links["c1"])
    outcome = deliver(client, "responseFinished", "r-late", ticket, finished=True, updated=NOW + timedelta(hours=2))
    assert outcome["outcome"] == "late"
    assert db.session.execute(sa.text("SELECT late FROM anonymous_tallies")).scalar() == 1
    db.session.expire_all()
    link = db.session.get(Link, links["c1"])
    assert (link.use_count, link.completed_at) == (0, NOW.replace(hour=0))  # no reminder to someone who answered
