"""Recording events: in the transaction of the change, nothing written when nobody subscribes (and no SQL on a
click), link events set-based, the lag of another process's subscription change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from adapters.csv_file import CsvContactSource
from plugin.db import db
from plugin.models import OutboxEvent
from plugin.services.contacts.contacts import import_contacts
from plugin.services.events import events, subscriptions
from plugin.services.links import issuing
from plugin.services.links.links import revoke_link
from plugin.services.responses.attribution import Intake, apply_delivery
from plugin.state import state
from tests.helpers import NOW, SURVEY_ID
from tests.webhooks.support import SECRET, response_body, signed
from webhooks.payload import parse_delivery

ISSUE = f"/api/v2/management/surveys/{SURVEY_ID}/contact-links/contacts"


def _subscribe(*kinds: str) -> None:
    subscriptions.create_subscription(db.session, {"url": "https://hooks.example.com/x", "events": list(kinds)}, NOW)
    db.session.commit()


def _outbox() -> list[OutboxEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def _open_path(client: FlaskClient, headers: dict[str, str], contact: str) -> str:
    return urlsplit(client.get(f"{ISSUE}/{contact}", headers=headers).json["data"]["surveyUrl"]).path


def test_a_click_with_nobody_subscribed_writes_no_event_and_runs_no_more_sql(
        client: FlaskClient, api_headers: dict[str, str], seeded: Any) -> None:
    path = _open_path(client, api_headers, "c1")
    client.get(path)  # reads the subscribed kinds once (there are none)
    with statements() as quiet:
        assert client.get(path).status_code == 302
    _subscribe("link.opened")
    client.get(path)  # this process dropped its copy when subscribing: read once more
    with statements() as recorded:
        assert client.get(path).status_code == 302
    outbox = [text for text in recorded if "event_outbox" in text]
    assert not [text for text in quiet if "event_" in text]
    assert len(outbox) == 1 and outbox[0].lstrip().upper().startswith("INSERT")
    assert len(recorded) == len(quiet) + 1
    assert [row.kind for row in _outbox()] == ["link.opened", "link.opened"]


def test_an_event_is_written_in_the_transaction_of_its_change(seeded: Any, client: FlaskClient,
                                                              api_headers: dict[str, str]) -> None:
    link_id = client.get(f"{ISSUE}/c1", headers=api_headers).json["data"]["linkId"]
    _subscribe("link.revoked")
    revoke_link(db.session, link_id, NOW, "test")
    db.session.rollback()  # the revocation did not happen: neither did its event
    assert _outbox() == []
    revoke_link(db.session, link_id, NOW, "test")
    db.session.commit()
    (row,) = _outbox()
    assert (row.kind, row.link_id, row.contact_host_id, row.data) == ("link.revoked", link_id, "c1",
                                                                     {"reason": "revoked"})


def test_issuing_a_segment_writes_one_event_per_link_in_one_statement(seeded: Any) -> None:
    _subscribe("link.issued")
    with statements() as seen:
        issued = issuing.issue_segment(db.session, SURVEY_ID, "alpha", {}, NOW, "test", lambda: None)
    db.session.commit()
    assert len([text for text in seen if "INSERT INTO event_outbox" in text]) == 1
    rows = _outbox()
    assert issued.report.new == 3
    assert sorted(row.contact_host_id for row in rows) == ["c1", "c2", "c3"]
    assert len({row.event_id for row in rows}) == 3 and all(row.event_id.startswith("evt_") for row in rows)
    assert {row.data["batchId"] for row in rows} == {rows[0].data["batchId"]}


def test_nothing_is_written_for_a_kind_nobody_wants(seeded: Any) -> None:
    _subscribe("link.opened")
    issuing.issue_segment(db.session, SURVEY_ID, "alpha", {}, NOW, "test", lambda: None)
    db.session.commit()
    assert _outbox() == []


def test_rotating_and_deleting_contacts_report_the_revoked_links(seeded: Any) -> None:
    issuing.issue_segment(db.session, SURVEY_ID, "beta", {}, NOW, "test", lambda: None)
    db.session.commit()
    _subscribe("link.revoked")
    issuing.issue_segment(db.session, SURVEY_ID, "beta", {"rotate": "true"}, NOW, "test", lambda: None)
    db.session.commit()
    assert sorted((row.contact_host_id, row.data["reason"]) for row in _outbox()) == [
        ("c1", "rotate"), ("c4", "rotate")]
    source = CsvContactSource(text="id,email,segments\nc1,one@example.com,Beta\n")
    import_contacts(db.session, source.contacts(), source.segments(), NOW, "test", replace=True)
    db.session.commit()
    deleted = [row for row in _outbox() if row.data["reason"] == "contact deleted"]
    assert [row.contact_host_id for row in deleted] == ["c4"]


def test_another_process_subscribing_is_seen_within_the_cache_age(app: Flask, database_url: str, seeded: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    record = lambda: events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID,  # noqa: E731
                                   contact_id=None, link_id=None, at=NOW)
    assert record() is None  # nobody subscribes; this process now holds that answer
    other = sa.create_engine(database_url)  # another process changes the subscriptions
    with other.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO event_subscriptions (url, kinds, secret, status, created_at, updated_at) VALUES "
            "('https://hooks.example.com/y', '[\"reminder.batch.created\"]', 'whsec_x', 'active', :at, :at)"),
            {"at": NOW.replace(tzinfo=None)})
    other.dispose()
    assert record() is None  # within KINDS_MAX_AGE, this process does not know yet
    monkeypatch.setattr(events, "KINDS_MAX_AGE", 0.0)
    assert record() is not None
    db.session.commit()
    assert [row.kind for row in _outbox()] == ["reminder.batch.created"]


def test_an_unknown_kind_is_a_programming_error(app: Flask) -> None:
    with pytest.raises(ValueError, match="unknown event kind 'link.clicked'"):
        events.record(db.session, "link.clicked", survey_id=None, contact_id=None, link_id=None, at=NOW)


def test_a_repeated_delivery_of_a_response_starts_it_once(seeded: Any, client: FlaskClient,
                                                          api_headers: dict[str, str]) -> None:
    url = client.get(f"{ISSUE}/c1", headers=api_headers).json["data"]["surveyUrl"]
    token = url.rsplit("/", 1)[1]
    _subscribe("response.started", "response.completed")
    intake = Intake(state().tokens, state().hidden_field)
    for finished in (False, False, True, True):
        body = response_body("responseFinished" if finished else "responseUpdated", "r1", token, finished=finished)
        apply_delivery(db.session, parse_delivery(body), NOW, intake)  # type: ignore[arg-type]
        db.session.commit()
    assert [row.kind for row in _outbox()] == ["response.started", "response.completed"]


@pytest.mark.settings(WEBHOOK_SECRETS=SECRET)
def test_a_subscription_made_here_is_heard_by_the_next_webhook_delivery(seeded: Any, client: FlaskClient,
                                                                         api_headers: dict[str, str]) -> None:
    """The intake reads the subscribed kinds on connections of its own on PostgreSQL (webhooks.connections):
    subscribing drops its copy too, not only the app's."""
    token = client.get(f"{ISSUE}/c1", headers=api_headers).json["data"]["surveyUrl"].rsplit("/", 1)[1]
    started = response_body("responseUpdated", "r1", token, finished=False)
    assert client.post("/webhooks/formbricks", data=started, headers=signed(started)).status_code == 200
    _subscribe("response.completed")  # the intake read the kinds above (none): this process forgets them
    finished = response_body("responseFinished", "r1", token, finished=True)
    assert client.post("/webhooks/formbricks", data=finished, headers=signed(finished)).json["outcome"] == "attributed"
    assert [row.kind for row in _outbox()] == ["response.completed"]


@pytest.mark.settings(OPEN_FLUSH_MS=3_600_000)
def test_an_open_written_behind_the_click_writes_its_event_in_the_same_write(
        client: FlaskClient, api_headers: dict[str, str], seeded: Any) -> None:
    path = _open_path(client, api_headers, "c1")
    _subscribe("link.opened")
    assert client.get(path).status_code == 302
    assert _outbox() == []  # queued with its open: neither is written yet
    assert state().opens is not None and state().opens.flush() == 1
    (event,) = _outbox()
    assert (event.kind, event.contact_host_id, event.at) == ("link.opened", "c1", NOW)
