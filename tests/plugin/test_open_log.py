"""Opens written behind the click (``OPEN_FLUSH_MS``): queued by the click, written in one transaction, never lost."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import func, select

from plugin.db import db
from plugin.models import AuditEvent, Link
from plugin.services.links import open_log
from plugin.services.links.open_log import Open, OpenLog
from plugin.state import state
from plugin.tokens import LinkTokens
from tests.helpers import NOW, SECRET_KEY, SURVEY_ID
from tests.servers import fresh_database, gunicorn

BASE = "/api/v2/management/surveys/survey-1/contact-links/contacts/"
QUEUED = pytest.mark.settings(OPEN_FLUSH_MS=3_600_000)  # the writer thread never comes round during a test


def issue(client, headers, contact: str = "c1") -> tuple[str, int]:
    data = client.get(BASE + contact, headers=headers).get_json()["data"]
    return urlsplit(data["surveyUrl"]).path, data["linkId"]


def opens_of(link_id: int) -> tuple[int, list[str | None]]:
    db.session.rollback()  # read what other connections committed
    count = db.session.scalar(select(Link.open_count).where(Link.id == link_id))
    audit = db.session.scalars(select(AuditEvent.request_id).where(AuditEvent.link_id == link_id,
                                                                  AuditEvent.action == "opened")).all()
    return int(count or 0), list(audit)


@QUEUED
def test_a_click_is_answered_before_its_open_is_written_and_the_flush_writes_it(client, seeded, api_headers) -> None:
    path, link_id = issue(client, api_headers)
    response = client.get(path, headers={"X-Request-ID": "click-1"})
    assert response.status_code == 302
    assert opens_of(link_id) == (0, [])  # answered; the open waits in the process
    assert state().opens is not None and state().opens.pending() == 1
    assert state().opens.flush() == 1
    assert opens_of(link_id) == (1, ["click-1"])  # the request that made it is named in its audit row
    link = db.session.get(Link, link_id)
    assert link.first_opened_at == link.last_opened_at == NOW  # the click's time, not the write's


@QUEUED
def test_a_link_opened_twice_keeps_its_first_and_last_open_times(client, seeded, api_headers, clock) -> None:
    path, link_id = issue(client, api_headers)
    client.get(path)
    clock.advance(minutes=5)
    client.get(path)
    state().opens.flush()
    link = db.session.get(Link, link_id)
    db.session.refresh(link)
    assert (link.open_count, link.first_opened_at, link.last_opened_at) == (2, NOW, clock.now())


@QUEUED
def test_head_and_dead_links_queue_nothing(client, seeded, api_headers) -> None:
    path, link_id = issue(client, api_headers)
    assert client.head(path).status_code == 302
    assert client.get(path[:-3] + "xyz").status_code == 404
    assert state().opens.pending() == 0


def test_a_failed_write_keeps_its_opens_for_the_next_one(app: Flask, seeded, client, api_headers) -> None:
    _, link_id = issue(client, api_headers)
    broken = sa.create_engine("sqlite:////nonexistent-folder/no.sqlite3")
    engine = {"now": broken}
    opens = OpenLog(lambda: engine["now"], interval=3600)
    opens.add(Open(link_id, SURVEY_ID, 1, NOW, "r1"))
    assert opens.flush() == 0 and opens.pending() == 1  # the database refused: nothing is dropped
    engine["now"] = db.engine
    assert opens.flush() == 1 and opens.pending() == 0
    assert opens_of(link_id) == (1, ["r1"])


def written(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == open_log.__name__]


def test_a_database_that_keeps_refusing_is_logged_once_and_its_recovery_once(
        app: Flask, seeded, client, api_headers, caplog: pytest.LogCaptureFixture, monkeypatch) -> None:
    _, link_id = issue(client, api_headers)
    monkeypatch.setattr(open_log, "MAX_QUEUED", 3)
    engine = {"now": sa.create_engine("sqlite:////nonexistent-folder/no.sqlite3")}
    opens = OpenLog(lambda: engine["now"], interval=0.1)
    caplog.set_level(logging.INFO, logger="plugin.services.links.open_log")
    for number in range(5):  # five writes fail, a tenth of a second apart as the thread makes them
        opens.add(Open(link_id, SURVEY_ID, 1, NOW, f"r{number}"))
        assert opens.flush() == 0
    assert written(caplog) == [
        ("WARNING", "could not write 1 opens, kept for the next try (OperationalError); nothing more is logged "
                    "until a write succeeds"),
        ("ERROR", "dropping the oldest unwritten opens: more than 3 queued (counted until a write succeeds)")]
    caplog.clear()
    engine["now"] = db.engine
    assert opens.flush() == 3 and opens.flush() == 0
    assert written(caplog) == [
        ("WARNING", "writing opens again after 5 failed writes: 3 queued opens written, 2 dropped")]
    assert opens_of(link_id)[0] == 3


def test_opens_queued_from_many_threads_are_each_written_once(app: Flask, seeded, client, api_headers) -> None:
    _, link_id = issue(client, api_headers)
    opens = OpenLog(lambda: db.engine, interval=3600)

    def click(number: int) -> None:
        for each in range(50):
            opens.add(Open(link_id, SURVEY_ID, 1, NOW, f"t{number}-{each}"))

    threads = [threading.Thread(target=click, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    written = opens.flush()  # a write while the threads still queue: nothing is lost between two writes
    for thread in threads:
        thread.join()
    written += opens.flush()
    count, audit = opens_of(link_id)
    assert written == count == 400 and len(set(audit)) == 400


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("config", [(), ("-c", "python:plugin.gunicorn_conf")], ids=["bare", "gunicorn_conf"])
def test_every_click_answered_by_a_real_server_is_written_by_the_time_it_stops(
        backend: str, config: tuple[str, ...], tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        engine = sa.create_engine(url)
        with engine.begin() as connection:  # one contact's live link, opened again and again (opens use nothing)
            connection.execute(sa.text("INSERT INTO contacts (host_id, attributes, source, created_at, updated_at)"
                                       " VALUES ('c1', '{}', 'test', :now, :now)"), {"now": NOW.replace(tzinfo=None)})
            connection.execute(sa.text("INSERT INTO surveys (id, name, public_url, type, status, hidden_field_ids,"
                                       " single_use, source, created_at, updated_at) VALUES ('s', 'S',"
                                       " 'https://forms.example.com/s/s', 'link', 'inProgress', '[]', false, 'manual',"
                                       " :now, :now)"), {"now": NOW.replace(tzinfo=None)})
            link_id = connection.execute(sa.text(
                "INSERT INTO links (survey_id, contact_id, created_at, max_uses, use_count, open_count, is_current)"
                " SELECT 's', id, :now, 1, 0, 0, true FROM contacts RETURNING id"),
                {"now": NOW.replace(tzinfo=None)}).scalar_one()
        token = LinkTokens(SECRET_KEY).make(link_id, "s")
        with gunicorn(url, tmp_path, workers=2, settings={"OPEN_FLUSH_MS": "5000"}, options=config) as base:
            with requests.Session() as session:
                answered = sum(session.get(f"{base}/c/{token}", allow_redirects=False).status_code == 302
                               for _ in range(60))
        # the server is stopped (SIGTERM) before any 5 s interval ended: the workers wrote their opens as they left
        with engine.connect() as connection:
            count = connection.execute(select(Link.open_count).where(Link.id == link_id)).scalar_one()
            audited = connection.execute(select(func.count()).select_from(AuditEvent)
                                         .where(AuditEvent.action == "opened")).scalar_one()
        engine.dispose()
    assert answered == 60
    assert count == audited == 60
