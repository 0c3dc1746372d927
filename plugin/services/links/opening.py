"""Opening a personal link: verify the token, decide the link's state, record the open, build the target.

This is the hottest path of the sidecar (a mailing to a large segment opens a burst of clicks), so it reads
the link with one prepared statement instead of building ORM queries per click, and leaves the open's two
writes (and its ``link.opened`` event, while a subscription wants it) to ``services.open_log`` (behind the
click, in batches); the link's state is still decided by the one rule, ``link_state.state_of``.

An anonymous survey's link (the mode comes with the link's row, no extra read) takes another branch, written
in the click's own transaction (the ticket must exist before the response arrives): it stores a new one-time
ticket's hash, marks the link opened at least once (no time, no count), and writes no audit row and no event;
the survey gets the ticket in the hidden field, never the token (docs/anonymity.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

from sqlalchemy import Date, bindparam, select, text
from sqlalchemy.engine import Connection

from plugin import metrics
from plugin.db.prepared import Driver, Prepared
from plugin.logs import current_request_id
from plugin.models import Link, Survey
from plugin.services.links.link_state import state_of
from plugin.services.links.open_log import Open, OpenLog, write_opens
from plugin.tickets import Tickets
from plugin.tokens import InvalidToken, LinkTokens

_LINKS, _SURVEYS = Link.__table__, Survey.__table__
# Compiled once and run on the driver's cursor (``plugin.db.prepared``): SQLAlchemy's work around one short read
# costs more than the read.
_READ = Prepared(
    select(_LINKS.c.survey_id, _LINKS.c.contact_id, _LINKS.c.revoked_at, _LINKS.c.use_count, _LINKS.c.max_uses,
           _LINKS.c.expires_at, _LINKS.c.valid_from, _LINKS.c.purged_at, _LINKS.c.single_use_url,
           _SURVEYS.c.public_url, _SURVEYS.c.language, _SURVEYS.c.anonymous, _SURVEYS.c.name)
    .join_from(_LINKS, _SURVEYS, _SURVEYS.c.id == _LINKS.c.survey_id)
    .where(_LINKS.c.id == bindparam("link_id")))


# Anonymous: opened at least once, nothing more (no time, no count that could be lined up with responses).
_MARK_OPENED = text("UPDATE links SET open_count = 1 WHERE id = :link_id AND open_count = 0")
_ADD_TICKET = text(
    "INSERT INTO anonymous_tickets (hash, link_id, created_on) VALUES (:hash, :link_id, :day)"
).bindparams(bindparam("day", type_=Date))

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Opened:
    """The outcome of opening a link: its state, and where a live link goes."""

    state: str  # live | invalid | expired | used | revoked | pending
    target: str | None = None
    expires_at: datetime | None = None
    valid_from: datetime | None = None
    language: str | None = None  # the survey's language, when it has one
    survey_name: str | None = None  # the page names it (None: the token names no known survey)


def survey_target(public_url: str, single_use_url: str | None, token: str, hidden_field: str) -> str:
    """The host survey URL (the link's single-use URL, else the survey's) with the token in the hidden field."""
    return with_hidden_field(single_use_url or public_url, token, hidden_field)


def with_hidden_field(base: str, token: str, hidden_field: str) -> str:
    """``base`` with ``hidden_field=token`` in its query (replacing any value there)."""
    return _up_to_value(base, hidden_field) + quote_plus(token)


@lru_cache(maxsize=4096)
def _up_to_value(base: str, hidden_field: str) -> str:
    """``base`` with ``hidden_field=`` last in its query, the value left to add: what urlencode would write before
    it. Remembered per survey URL, so a click only quotes its token (a few surveys, many clicks)."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != hidden_field]
    query.append((hidden_field, ""))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def open_link(connection: Connection, tokens: LinkTokens, token: str, now: datetime, hidden_field: str,
              *, tickets: Tickets, record: bool = True, opens: OpenLog | None = None) -> Opened:
    """What ``GET /c/<token>`` shows; a live link's open is recorded unless ``record`` is false (HEAD): queued in
    ``opens`` when given (written behind the click, ``services.open_log``), else on ``connection``."""
    opened = _open(connection, tokens, tickets, token, now, hidden_field, record, opens)
    log.debug("link opened: %s%s", opened.state, "" if record else " (not recorded)")  # never the token
    if record:
        metrics.link_opened(opened.state)
    return opened


def _open(connection: Connection, tokens: LinkTokens, tickets: Tickets, token: str, now: datetime,
          hidden_field: str, record: bool, opens: OpenLog | None) -> Opened:
    try:
        link_id = tokens.peek(token)
    except InvalidToken:
        return Opened("invalid")
    row = Driver(connection).first(_READ, {"link_id": link_id})
    if row is None:
        return Opened("invalid")
    try:
        tokens.verify(token, row.survey_id)
    except InvalidToken:
        return Opened("invalid")
    language = row.language
    if row.purged_at is not None:  # a purged token answers like the expired link it was
        return Opened("expired", expires_at=row.expires_at, language=language, survey_name=row.name)
    state = state_of(row.revoked_at, row.use_count, row.max_uses, row.expires_at, row.valid_from, now)
    if state != "live":
        return Opened(state, expires_at=row.expires_at, valid_from=row.valid_from, language=language,
                      survey_name=row.name)
    if row.anonymous:
        return _open_anonymous(connection, tickets, link_id, row, now, hidden_field, record)
    if record:
        item = Open(link_id, row.survey_id, row.contact_id, now, current_request_id())
        if opens is not None:
            opens.add(item)
        else:
            write_opens(connection, (item,))
    return Opened("live", survey_target(row.public_url, row.single_use_url, token, hidden_field), row.expires_at,
                  language=language)


def _open_anonymous(connection: Any, tickets: Tickets, link_id: int, row: Any, now: datetime, hidden_field: str,
                    record: bool) -> Opened:
    """A live link of an anonymous survey: a new ticket in the hidden field (HEAD: none, and nothing stored)."""
    base = row.single_use_url or row.public_url
    if not record:
        return Opened("live", base, row.expires_at, language=row.language)
    ticket = tickets.new()
    connection.execute(_ADD_TICKET, {"hash": tickets.hash(ticket), "link_id": link_id,
                                     "day": now.astimezone(UTC).date()})
    connection.execute(_MARK_OPENED, {"link_id": link_id})
    return Opened("live", with_hidden_field(base, ticket, hidden_field), row.expires_at, language=row.language)
