"""Opening a personal link: verify the token, decide the link's state, record the open, build the target.

This is the hottest path of the sidecar (a mailing to a large segment opens a burst of clicks), so it runs
three prepared statements (read the link, count the open, write the audit row) instead of building ORM
queries per click; the link's state is still decided by the one rule, ``links.state_of``.

An anonymous survey's link (the mode comes with the link's row, no extra read) takes another branch of as many
statements: it stores a new one-time ticket's hash, marks the link opened at least once (no time, no count)
and writes no audit row; the survey gets the ticket in the hidden field, never the token (docs/anonymity.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Boolean, Date, Integer, String, bindparam, text

from plugin import metrics
from plugin.db import DbSession, UTCDateTime
from plugin.logs import current_request_id
from plugin.services.links import state_of
from plugin.tickets import Tickets
from plugin.tokens import InvalidToken, LinkTokens

_READ = text(
    "SELECT l.survey_id, l.contact_id, l.revoked_at, l.use_count, l.max_uses, l.expires_at, l.valid_from,"
    " l.purged_at, l.single_use_url, s.public_url, s.language, s.anonymous FROM links l"
    " JOIN surveys s ON s.id = l.survey_id WHERE l.id = :link_id"
).columns(survey_id=String, contact_id=Integer, revoked_at=UTCDateTime, use_count=Integer, max_uses=Integer,
          expires_at=UTCDateTime, valid_from=UTCDateTime, purged_at=UTCDateTime, single_use_url=String,
          public_url=String, language=String, anonymous=Boolean)
_COUNT_OPEN = text(
    "UPDATE links SET open_count = open_count + 1, last_opened_at = :now,"
    " first_opened_at = COALESCE(first_opened_at, :now) WHERE id = :link_id"
).bindparams(bindparam("now", type_=UTCDateTime))
_AUDIT_OPEN = text(
    "INSERT INTO audit_events (at, action, actor, link_id, survey_id, contact_id, request_id)"
    " VALUES (:now, 'opened', 'respondent', :link_id, :survey_id, :contact_id, :request_id)"
).bindparams(bindparam("now", type_=UTCDateTime))

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


def survey_target(public_url: str, single_use_url: str | None, token: str, hidden_field: str) -> str:
    """The host survey URL (the link's single-use URL, else the survey's) with the token in the hidden field."""
    return with_hidden_field(single_use_url or public_url, token, hidden_field)


def with_hidden_field(base: str, token: str, hidden_field: str) -> str:
    """``base`` with ``hidden_field=token`` in its query (replacing any value there)."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != hidden_field]
    query.append((hidden_field, token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def open_link(session: DbSession, tokens: LinkTokens, token: str, now: datetime, hidden_field: str,
              *, tickets: Tickets, record: bool = True) -> Opened:
    """What ``GET /c/<token>`` shows; a live link's open is recorded unless ``record`` is false (HEAD)."""
    opened = _open(session, tokens, tickets, token, now, hidden_field, record)
    log.debug("link opened: %s%s", opened.state, "" if record else " (not recorded)")  # never the token
    if record:
        metrics.link_opened(opened.state)
    return opened


def _open(session: DbSession, tokens: LinkTokens, tickets: Tickets, token: str, now: datetime, hidden_field: str,
          record: bool) -> Opened:
    try:
        link_id = tokens.peek(token)
    except InvalidToken:
        return Opened("invalid")
    connection = session.connection()  # Core statements on the session's transaction: no ORM work per click
    row = connection.execute(_READ, {"link_id": link_id}).first()
    if row is None:
        return Opened("invalid")
    try:
        tokens.verify(token, row.survey_id)
    except InvalidToken:
        return Opened("invalid")
    language = row.language
    if row.purged_at is not None:  # a purged token answers like the expired link it was
        return Opened("expired", expires_at=row.expires_at, language=language)
    state = state_of(row.revoked_at, row.use_count, row.max_uses, row.expires_at, row.valid_from, now)
    if state != "live":
        return Opened(state, expires_at=row.expires_at, valid_from=row.valid_from, language=language)
    if row.anonymous:
        return _open_anonymous(connection, tickets, link_id, row, now, hidden_field, record)
    if record:
        values = {"now": now, "link_id": link_id}
        connection.execute(_COUNT_OPEN, values)
        connection.execute(_AUDIT_OPEN, {**values, "survey_id": row.survey_id, "contact_id": row.contact_id,
                                         "request_id": current_request_id()})
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
