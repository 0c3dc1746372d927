"""Opening a link of an anonymous survey: a ticket in the hidden field, no time kept, as few statements as before."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from flask.testing import FlaskClient

from plugin.db import db
from plugin.models import AnonymousTicket, AuditEvent, Link, Survey
from plugin.state import state
from plugin.tickets import is_ticket

BASE = "/api/v2/management/surveys/survey-1/contact-links/contacts/"


def issue(client: FlaskClient, headers: dict[str, str], contact: str) -> tuple[str, int]:
    data = client.get(BASE + contact, headers=headers).get_json()["data"]
    return urlsplit(data["surveyUrl"]).path, data["linkId"]


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements the database is sent meanwhile (a connection check excluded)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.strip().upper() != "SELECT 1":
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def anonymous() -> None:
    db.session.get(Survey, "survey-1").anonymous = True
    db.session.commit()


def test_the_anonymous_open_sends_a_ticket_and_keeps_no_time(client: FlaskClient, seeded: Any,
                                                             api_headers: dict[str, str]) -> None:
    path, link_id = issue(client, api_headers, "c1")
    anonymous()
    tickets = [parse_qs(urlsplit(client.get(path).headers["Location"]).query)["plink"][0] for _ in range(2)]
    assert all(is_ticket(ticket) for ticket in tickets) and tickets[0] != tickets[1]
    db.session.expire_all()
    link = db.session.get(Link, link_id)
    assert (link.open_count, link.first_opened_at, link.last_opened_at) == (1, None, None)
    stored = set(db.session.scalars(sa.select(AnonymousTicket.hash)))
    assert stored == {state().tickets.hash(ticket) for ticket in tickets}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "opened")) == 0


def test_both_modes_open_with_three_statements(client: FlaskClient, seeded: Any, api_headers: dict[str, str]) -> None:
    """The mode comes with the link's row: the attributed click costs what it did (read, count, audit) and the
    anonymous one as much (read, ticket, mark)."""
    attributed, _ = issue(client, api_headers, "c1")
    with statements() as seen:
        assert client.get(attributed).status_code == 302
    assert len(seen) == 3, seen
    path, _ = issue(client, api_headers, "c2")
    anonymous()
    with statements() as seen:
        assert client.get(path).status_code == 302
    assert len(seen) == 3, seen
