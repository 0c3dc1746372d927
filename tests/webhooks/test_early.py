"""A response through a link that is not valid yet (its ``validFrom`` ahead) is ``early``: recorded, never
attributed, the link untouched, as ``/c/`` answers that link ``pending`` (the same rule, ``links.state_of``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from plugin.db import db
from plugin.models import AuditEvent, EventSubscription, Link, ResponseAttribution
from plugin.services.events import events
from plugin.state import state
from tests.helpers import NOW
from tests.webhooks.support import response_body, signed, token_of

URL = "/webhooks/formbricks"
VALID_FROM = NOW + timedelta(days=1)


def deliver(client: FlaskClient, event: str, response_id: str, token: str, *, finished: bool,
            created: datetime = NOW, updated: datetime | None = None) -> dict[str, Any]:
    body = response_body(event, response_id, token, finished=finished, created=created, updated=updated)
    answer = client.post(URL, data=body, headers=signed(body, at=state().clock.now()))
    assert answer.status_code == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


def untouched(link_id: int) -> bool:
    db.session.expire_all()
    link = db.session.get(Link, link_id)
    return (link.use_count, link.started_at, link.completed_at) == (0, None, None)


def count(model: Any, *where: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def pending(links: dict[str, int]) -> dict[str, int]:
    """c1's link to survey-1 becomes valid tomorrow; every event kind is subscribed."""
    db.session.execute(sa.update(Link).where(Link.id == links["c1"]).values(valid_from=VALID_FROM))
    db.session.add(EventSubscription(url="https://receiver.example/hook", kinds=list(events.KINDS),
                                     secret="whsec_" + "A" * 43, status="active", created_at=NOW - timedelta(days=1),
                                     updated_at=NOW))
    db.session.commit()
    events.forget_kinds()
    return links


def test_a_response_finished_before_the_link_is_valid_is_early_and_leaves_the_link_alone(
        client: FlaskClient, pending: dict[str, int]) -> None:
    token = token_of(pending["c1"])
    assert client.get(f"/c/{token}").status_code != 302  # the respondent page says: not yet
    assert deliver(client, "responseCreated", "r1", token, finished=False)["outcome"] == "early"
    answer = deliver(client, "responseFinished", "r1", token, finished=True, updated=NOW + timedelta(minutes=3))
    assert answer["outcome"] == "early"
    assert untouched(pending["c1"])
    row = db.session.execute(sa.select(ResponseAttribution.status, ResponseAttribution.link_id)).one()
    assert tuple(row) == ("early", pending["c1"])  # kept like a late one: for the admin, never as an answer
    kinds = set(db.session.scalars(sa.text("SELECT kind FROM event_outbox")))
    assert not kinds & {"response.started", "response.completed"}
    assert count(AuditEvent, AuditEvent.action == "early") == 1
    assert client.get(f"/c/{token}").status_code != 302  # still pending; valid tomorrow, with its use
    state().clock.advance(days=1)  # type: ignore[attr-defined]
    assert client.get(f"/c/{token}").status_code == 302


def test_a_response_finished_once_the_link_is_valid_counts(client: FlaskClient, pending: dict[str, int]) -> None:
    token = token_of(pending["c1"])
    assert deliver(client, "responseFinished", "r1", token, finished=True, created=VALID_FROM - timedelta(minutes=1),
                   updated=VALID_FROM)["outcome"] == "attributed"  # from validFrom on, the link is live
    db.session.expire_all()
    assert db.session.get(Link, pending["c1"]).use_count == 1


def test_an_early_response_through_an_anonymous_surveys_link_completes_nothing(
        client: FlaskClient, pending: dict[str, int], api_headers: dict[str, str]) -> None:
    answer = client.put("/api/personal-links/v1/surveys/survey-1", headers=api_headers,
                        json={"anonymous": True, "eraseAttributions": True})
    assert answer.status_code == 200, answer.json
    token = token_of(pending["c1"])  # a token (not a ticket) still in a page opened before the switch
    assert deliver(client, "responseCreated", "r1", token, finished=False)["outcome"] == "started"
    assert untouched(pending["c1"])
    assert deliver(client, "responseFinished", "r1", token, finished=True)["outcome"] == "early"
    assert untouched(pending["c1"])
    assert db.session.execute(sa.text("SELECT rejected FROM anonymous_tallies")).scalar() == 1
    assert count(ResponseAttribution) == 0
