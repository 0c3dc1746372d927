"""Opening a personal link: verify the token, decide the link's state, record the open, build the target.

This is the hottest path of the sidecar (a mailing to a large segment opens a burst of clicks), so it reads
the link with one prepared statement instead of building ORM queries per click, and leaves the open's two
writes (and its ``link.opened`` event, while a subscription wants it) to ``services.open_log`` (behind the
click, in batches); the link's state is still decided by the one
rule, ``links.state_of``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from plugin import metrics
from plugin.logs import current_request_id
from plugin.models import Link, Survey
from plugin.services.links import state_of
from plugin.services.open_log import Open, OpenLog, write_opens
from plugin.tokens import InvalidToken, LinkTokens

_LINKS, _SURVEYS = Link.__table__, Survey.__table__
# A Core select, not text(): its compiled form and result columns are cached once, where a textual statement's
# result columns are matched by name again on every click.
_READ = (select(_LINKS.c.survey_id, _LINKS.c.contact_id, _LINKS.c.revoked_at, _LINKS.c.use_count, _LINKS.c.max_uses,
                _LINKS.c.expires_at, _LINKS.c.valid_from, _LINKS.c.purged_at, _LINKS.c.single_use_url,
                _SURVEYS.c.public_url, _SURVEYS.c.language)
         .join_from(_LINKS, _SURVEYS, _SURVEYS.c.id == _LINKS.c.survey_id)
         .where(_LINKS.c.id == bindparam("link_id")))

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


def open_link(connection: Connection, tokens: LinkTokens, token: str, now: datetime, hidden_field: str,
              *, record: bool = True, opens: OpenLog | None = None) -> Opened:
    """What ``GET /c/<token>`` shows; a live link's open is recorded unless ``record`` is false (HEAD): queued in
    ``opens`` when given (written behind the click, ``services.open_log``), else on ``connection``."""
    opened = _open(connection, tokens, token, now, hidden_field, record, opens)
    log.debug("link opened: %s%s", opened.state, "" if record else " (not recorded)")  # never the token
    if record:
        metrics.link_opened(opened.state)
    return opened


def _open(connection: Connection, tokens: LinkTokens, token: str, now: datetime, hidden_field: str,
          record: bool, opens: OpenLog | None) -> Opened:
    try:
        link_id = tokens.peek(token)
    except InvalidToken:
        return Opened("invalid")
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
    if record:
        item = Open(link_id, row.survey_id, row.contact_id, now, current_request_id())
        if opens is not None:
            opens.add(item)
        else:
            write_opens(connection, (item,))
    return Opened("live", survey_target(row.public_url, row.single_use_url, token, hidden_field), row.expires_at,
                  language=language)
