"""Opening a personal link: verify the token, decide the link's state, record the open, build the target."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import func, select, update

from plugin import metrics
from plugin.db import DbSession
from plugin.models import Link, Survey
from plugin.services.links import audit, state_of
from plugin.tokens import InvalidToken, LinkTokens

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Opened:
    """The outcome of opening a link: its state, and where a live link goes."""

    state: str  # live | invalid | expired | used | revoked | pending
    target: str | None = None
    expires_at: datetime | None = None
    valid_from: datetime | None = None


def survey_target(survey: Survey, link: Link, token: str, hidden_field: str) -> str:
    """The host survey URL with the token in the hidden field; built from stored settings only."""
    base = link.single_use_url or survey.public_url
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != hidden_field]
    query.append((hidden_field, token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def open_link(session: DbSession, tokens: LinkTokens, token: str, now: datetime, hidden_field: str,
              *, record: bool = True) -> Opened:
    """What ``GET /c/<token>`` shows; a live link's open is recorded unless ``record`` is false (HEAD)."""
    opened = _open(session, tokens, token, now, hidden_field, record)
    log.debug("link opened: %s%s", opened.state, "" if record else " (not recorded)")  # never the token
    if record:
        metrics.link_opened(opened.state)
    return opened


def _open(session: DbSession, tokens: LinkTokens, token: str, now: datetime, hidden_field: str,
          record: bool) -> Opened:
    try:
        link_id = tokens.peek(token)
    except InvalidToken:
        return Opened("invalid")
    row = session.execute(select(Link, Survey).join(Survey, Survey.id == Link.survey_id)
                          .where(Link.id == link_id)).first()
    if row is None:
        return Opened("invalid")
    link, survey = row
    try:
        tokens.verify(token, link.survey_id)
    except InvalidToken:
        return Opened("invalid")
    if link.purged_at is not None:  # a purged token answers like the expired link it was
        return Opened("expired", expires_at=link.expires_at)
    state = state_of(link.revoked_at, link.use_count, link.max_uses, link.expires_at, link.valid_from, now)
    if state != "live":
        return Opened(state, expires_at=link.expires_at, valid_from=link.valid_from)
    if record:
        session.execute(update(Link).where(Link.id == link.id).values(
            open_count=Link.open_count + 1, last_opened_at=now,
            first_opened_at=func.coalesce(Link.first_opened_at, now)))
        audit(session, "opened", "respondent", now, link_id=link.id, survey_id=link.survey_id,
              contact_id=link.contact_id)
    return Opened("live", survey_target(survey, link, token, hidden_field), link.expires_at)
