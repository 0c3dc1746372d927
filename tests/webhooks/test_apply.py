"""What a response does: tokens, every ordering, duplicates, late responses, deleting duplicates on the host."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from plugin.db import db
from plugin.models import Link, ResponseAttribution
from plugin.services.host.adapters import OVERRIDE_KEY, Adapters
from plugin.services.links.links import revoke_link
from plugin.state import state
from tests.helpers import NOW
from tests.webhooks.support import OTHER_SURVEY_ID, response_body, signed, token_of
from webhooks import connections

URL = "/webhooks/formbricks"
CREATED, FINISHED = NOW, NOW + timedelta(minutes=3)


def deliver(client: FlaskClient, event: str, response_id: str, token: str | None, *, finished: bool,
            **kwargs: Any) -> dict[str, Any]:
    body = response_body(event, response_id, token, finished=finished, **kwargs)
    answer = client.post(URL, data=body, headers=signed(body, at=state().clock.now()))
    assert answer.status_code == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


def attribution(response_id: str) -> tuple[Any, ...]:
    row = db.session.execute(select(ResponseAttribution.status, ResponseAttribution.link_id,
                                    ResponseAttribution.contact_id, ResponseAttribution.started_at,
                                    ResponseAttribution.finished_at)
                             .where(ResponseAttribution.response_id == response_id)).one()
    return tuple(row)


def link_state(link_id: int) -> tuple[Any, ...]:
    db.session.expire_all()
    link = db.session.get(Link, link_id)
    return link.use_count, link.started_at, link.completed_at


EVENTS = {
    "created": ("responseCreated", False, CREATED),
    "updated": ("responseUpdated", False, CREATED + timedelta(minutes=1)),
    "finished": ("responseFinished", True, FINISHED),
}


@pytest.mark.parametrize("order", list(itertools.permutations(EVENTS)), ids="-".join)
def test_every_ordering_and_repeat_ends_in_the_same_state(client: FlaskClient, links: dict[str, int],
                                                          order: tuple[str, ...]) -> None:
    token = token_of(links["c1"])
    for name in (*order, *order):  # each delivered twice, the second round as the host's retries
        event, finished, updated = EVENTS[name]
        deliver(client, event, "r1", token, finished=finished, created=CREATED, updated=updated)
    status, link_id, contact_id, started_at, finished_at = attribution("r1")
    assert (status, link_id, started_at, finished_at) == ("attributed", links["c1"], CREATED, FINISHED)
    assert contact_id is not None
    assert link_state(links["c1"]) == (1, CREATED, FINISHED)


def test_created_already_finished_attributes_without_the_finished_event(client: FlaskClient,
                                                                        links: dict[str, int]) -> None:
    answer = deliver(client, "responseCreated", "r1", token_of(links["c1"]), finished=True)
    assert answer["outcome"] == "attributed"


def test_started_response_binds_the_link(client: FlaskClient, links: dict[str, int]) -> None:
    assert deliver(client, "responseCreated", "r1", token_of(links["c1"]), finished=False)["outcome"] == "started"
    assert attribution("r1")[:2] == ("started", links["c1"])
    assert link_state(links["c1"]) == (0, CREATED, None)


def test_token_in_meta_url_when_not_in_data(client: FlaskClient, links: dict[str, int]) -> None:
    answer = deliver(client, "responseFinished", "r1", token_of(links["c2"]), finished=True, in_url=True)
    assert (answer["outcome"], attribution("r1")[1]) == ("attributed", links["c2"])


@pytest.mark.parametrize("forge", ["none", "garbage", "tampered-signature", "other-link-id"])
def test_forged_or_missing_token_is_unattributed(client: FlaskClient, links: dict[str, int], forge: str) -> None:
    token = token_of(links["c1"])
    forged = {"none": None, "garbage": "not-a-token",
              "tampered-signature": token[:-1] + ("A" if token[-1] != "A" else "B"),
              "other-link-id": f"{links['c2']}{token[token.index('.'):]}"}[forge]
    assert deliver(client, "responseFinished", "r1", forged, finished=True)["outcome"] == "unattributed"
    assert attribution("r1")[:3] == ("unattributed", None, None)
    assert all(link_state(link_id)[0] == 0 for link_id in links.values())


def test_token_of_another_survey_is_rejected(client: FlaskClient, links: dict[str, int]) -> None:
    other = token_of(links["other-c1"], OTHER_SURVEY_ID)
    assert deliver(client, "responseFinished", "r1", other, finished=True)["outcome"] == "rejected"
    assert link_state(links["other-c1"])[0] == 0


def test_second_response_on_a_used_link_is_a_duplicate(client: FlaskClient, links: dict[str, int]) -> None:
    token = token_of(links["c1"])
    assert deliver(client, "responseFinished", "r1", token, finished=True)["outcome"] == "attributed"
    assert deliver(client, "responseFinished", "r2", token, finished=True)["outcome"] == "duplicate"
    assert attribution("r2")[:2] == ("duplicate", links["c1"])
    assert link_state(links["c1"])[0] == 1


def test_a_link_with_two_uses_takes_two_responses(client: FlaskClient, links: dict[str, int]) -> None:
    db.session.execute(Link.__table__.update().where(Link.id == links["c1"]).values(max_uses=2))
    db.session.commit()
    token = token_of(links["c1"])
    outcomes = [deliver(client, "responseFinished", f"r{n}", token, finished=True)["outcome"] for n in range(3)]
    assert outcomes == ["attributed", "attributed", "duplicate"]



def _writes_of(client: FlaskClient, response_id: str, token: str) -> list[str]:
    """The first words of each write a finished delivery runs (the reads and the commit left out)."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE"):
            seen.append(" ".join(statement.split()[:3]))

    engine = connections.engine_of(client.application) or db.engine  # the intake's own on PostgreSQL
    event.listen(engine, "before_cursor_execute", note)
    try:
        deliver(client, "responseFinished", response_id, token, finished=True)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def test_a_first_finished_delivery_writes_its_status_with_its_row_and_corrects_it_only_for_a_duplicate(
        client: FlaskClient, links: dict[str, int]) -> None:
    token = token_of(links["c1"])
    attributed = _writes_of(client, "r1", token)
    assert attributed == ["INSERT INTO webhook_inbox", "INSERT INTO response_attributions", "UPDATE links SET",
                          "INSERT INTO audit_events"]
    assert attribution("r1")[0] == "attributed"
    duplicate = _writes_of(client, "r2", token)  # no use left: the expected status is set right
    assert "UPDATE response_attributions SET" in duplicate
    assert attribution("r2")[0] == "duplicate"


class FakeHost:
    """The one thing deleting duplicates needs of a survey host."""

    name = "fake"

    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete_response(self, response_id: str) -> None:
        self.deleted.append(response_id)


@pytest.mark.settings(DELETE_DUPLICATES_ON_HOST=True)
def test_duplicates_deleted_on_the_host_after_the_answer(app: Flask, client: FlaskClient,
                                                         links: dict[str, int]) -> None:
    jobs: list[Any] = []
    app.extensions["personal_links_webhooks"].background = jobs.append  # run them when the test says
    host = FakeHost()
    app.extensions[OVERRIDE_KEY] = Adapters(None, host)  # type: ignore[arg-type]
    token = token_of(links["c1"])
    deliver(client, "responseFinished", "r1", token, finished=True)
    deliver(client, "responseFinished", "r2", token, finished=True)
    deliver(client, "responseFinished", "r2", token, finished=True, updated=NOW + timedelta(seconds=1))
    assert host.deleted == [] and len(jobs) == 1  # nothing on the host during the request; r2 once
    jobs[0]()
    assert host.deleted == ["r2"]
    assert db.session.scalar(select(ResponseAttribution.host_deleted_at)
                             .where(ResponseAttribution.response_id == "r2")) == NOW


@pytest.mark.settings(DELETE_DUPLICATES_ON_HOST=True, SURVEY_HOST="")
def test_deleting_duplicates_without_a_survey_host_only_warns(app: Flask, client: FlaskClient,
                                                              links: dict[str, int],
                                                              caplog: pytest.LogCaptureFixture) -> None:
    app.extensions["personal_links_webhooks"].background = lambda job: job()
    token = token_of(links["c1"])
    deliver(client, "responseFinished", "r1", token, finished=True)
    assert deliver(client, "responseFinished", "r2", token, finished=True)["outcome"] == "duplicate"
    assert "SURVEY_HOST is empty" in caplog.text


def test_response_finished_after_expiry_is_late_and_not_counted(client: FlaskClient, links: dict[str, int],
                                                                clock: Any) -> None:
    _expire(links["c1"])
    clock.advance(days=2)
    answer = deliver(client, "responseFinished", "r1", token_of(links["c1"]), finished=True,
                     updated=NOW + timedelta(days=2))
    assert answer["outcome"] == "late"
    assert link_state(links["c1"])[0] == 0


@pytest.mark.settings(LATE_RESPONSES_COUNT=True)
def test_late_response_counts_when_the_setting_says_so(client: FlaskClient, links: dict[str, int]) -> None:
    _expire(links["c1"])
    answer = deliver(client, "responseFinished", "r1", token_of(links["c1"]), finished=True,
                     updated=NOW + timedelta(days=2))
    assert answer["outcome"] == "attributed"
    assert link_state(links["c1"])[0] == 1


def test_response_finished_before_expiry_but_delivered_after_counts(client: FlaskClient, links: dict[str, int],
                                                                    clock: Any) -> None:
    _expire(links["c1"])
    clock.advance(days=2)  # a late delivery of a response finished in time
    assert deliver(client, "responseFinished", "r1", token_of(links["c1"]), finished=True)["outcome"] == "attributed"


def test_response_finished_after_revocation_is_rejected(client: FlaskClient, links: dict[str, int]) -> None:
    revoke_link(db.session, links["c1"], NOW, "test")
    db.session.commit()
    answer = deliver(client, "responseFinished", "r1", token_of(links["c1"]), finished=True, updated=FINISHED)
    assert answer["outcome"] == "rejected"
    assert link_state(links["c1"])[0] == 0


def _expire(link_id: int) -> None:
    db.session.execute(Link.__table__.update().where(Link.id == link_id).values(expires_at=NOW + timedelta(days=1)))
    db.session.commit()
