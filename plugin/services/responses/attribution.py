"""The effect of one response delivery: attribute it to its link's contact exactly once, count the use.

Every step is set-once, so the final state is the same whatever the order and however often a delivery
arrives: the attribution row is claimed by its unique response id, the finish by ``finished_at IS NULL``,
the use by ``use_count < max_uses``; the row count of each statement decides, never a read before it.
A response of an anonymous survey (a ticket in the hidden field, or a token of an anonymous survey's link)
takes ``plugin.services.responses.anonymous`` instead; the host's own update that overwrote a ticket changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, bindparam, insert, select, update

from plugin.clock import iso
from plugin.db import DbSession
from plugin.db.prepared import Driver, Prepared
from plugin.logs import current_request_id
from plugin.models import AuditEvent, Link, ResponseAttribution, Survey
from plugin.services.events import events
from plugin.services.links.link_state import has_use_left_sql
from plugin.services.responses.anonymous import Anonymous, apply_anonymous, is_anonymous
from plugin.services.responses.link_rule import outcome_at
from plugin.services.responses.records import Delivery, ResponseRecord, extract_token
from plugin.services.set_once import at_param, earliest, insert_ignoring
from plugin.tickets import PLACEHOLDER, Tickets, is_ticket
from plugin.tokens import InvalidToken, LinkTokens

ACTOR = "webhook"
ERASURE_DELAY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Intake:
    """What applying needs besides the session: the token signer, the hidden field, the late rule; for anonymous
    surveys the ticket hasher and the wait before a host erasure's first attempt."""

    tokens: LinkTokens
    hidden_field: str
    late_counts: bool = False
    tickets: Tickets | None = None
    erasure_delay: timedelta = ERASURE_DELAY

    def anonymous(self) -> Anonymous:
        """The rules of the anonymous path."""
        return Anonymous(self.tickets, self.late_counts, self.erasure_delay)

    @classmethod
    def from_settings(cls, tokens: LinkTokens, hidden_field: str, tickets: Tickets,
                      config: Mapping[str, Any]) -> Intake:
        """The one way the webhook receiver, the retry job and the demo form build the rules, so none of them
        applies a response differently (the demo's own copy once lacked the tickets, so its anonymous answers
        were left unmatched)."""
        return cls(tokens, hidden_field, bool(config["LATE_RESPONSES_COUNT"]), tickets,
                   timedelta(seconds=int(config["ERASURE_DELAY_SECONDS"])))


@dataclass(frozen=True, slots=True)
class Applied:
    """A response's attribution status after a delivery; ``decided`` when this delivery settled it.

    ``anonymous``: the response belongs to an anonymous survey (status completed, duplicate, late, rejected,
    unmatched, started, repeat or ignored; link_id always None), so its stored body is not kept.
    """

    response_id: str
    status: str  # started | attributed | duplicate | late | early | unattributed | rejected (anonymous: see above)
    link_id: int | None
    decided: bool
    anonymous: bool = False


# Built once and run on the driver's cursor (``plugin.db.prepared``): intake is a hot path, and SQLAlchemy's work
# around a short statement costs more than the database's.
_LINKS, _ATTRIBUTIONS = Link.__table__, ResponseAttribution.__table__
_SURVEYS = Survey.__table__
_READ_LINK = Prepared(select(
    _LINKS.c.id, _LINKS.c.survey_id, _LINKS.c.contact_id, _LINKS.c.expires_at, _LINKS.c.revoked_at,
    _LINKS.c.valid_from, _SURVEYS.c.anonymous).join(_SURVEYS, _SURVEYS.c.id == _LINKS.c.survey_id).where(
    _LINKS.c.id == bindparam("p_link")))
_START = Prepared(update(_LINKS).where(_LINKS.c.id == bindparam("p_link")).values(
    started_at=earliest(_LINKS.c.started_at, "p_started")))
# the first delivery of a finished response claims its finish with its row; a later finish claims it by the
# ``finished_at IS NULL`` of _CLAIM_FINISH
_ATTRIBUTE = Prepared(lambda dialect: insert_ignoring(dialect, _ATTRIBUTIONS, "response_id").values(
    response_id=bindparam("p_response"), survey_id=bindparam("p_survey"), status=bindparam("p_status"),
    link_id=bindparam("p_link"), contact_id=bindparam("p_contact"), started_at=at_param("p_started"),
    finished_at=at_param("p_finished"), created_at=at_param("p_now"),
    updated_at=at_param("p_now")))
_CLAIM_FINISH = Prepared(update(_ATTRIBUTIONS).where(
    _ATTRIBUTIONS.c.response_id == bindparam("p_response"), _ATTRIBUTIONS.c.finished_at.is_(None)).values(
    finished_at=at_param("p_finished"), updated_at=at_param("p_now")))
_CURRENT = Prepared(select(_ATTRIBUTIONS.c.status, _ATTRIBUTIONS.c.link_id).where(
    _ATTRIBUTIONS.c.response_id == bindparam("p_response")))
_SET_STATUS = Prepared(update(_ATTRIBUTIONS).where(_ATTRIBUTIONS.c.response_id == bindparam("p_response")).values(
    status=bindparam("p_status"), updated_at=at_param("p_now")))
# a use counted marks the link started too (one statement); when no use is left, _START alone
_START_AND_COUNT_USE = Prepared(update(_LINKS).where(
    _LINKS.c.id == bindparam("p_link"), has_use_left_sql()).values(
    use_count=_LINKS.c.use_count + 1, started_at=earliest(_LINKS.c.started_at, "p_started"),
    completed_at=earliest(_LINKS.c.completed_at, "p_finished")))
_AUDIT = Prepared(insert(AuditEvent.__table__).values(
    at=at_param("p_now"), action=bindparam("p_action"), actor=ACTOR, link_id=bindparam("p_link"),
    survey_id=bindparam("p_survey"), contact_id=bindparam("p_contact"), detail=bindparam("p_detail", type_=JSON),
    request_id=bindparam("p_request")))


def _link_of(sql: Driver, tokens: LinkTokens, response: ResponseRecord, token: str | None
             ) -> tuple[Any, str]:
    """The link row a response came through, or None and why: unattributed (no or forged token), rejected."""
    if token is None:
        return None, "unattributed"
    try:
        link_id = tokens.peek(token)
    except InvalidToken:
        return None, "unattributed"
    link = sql.first(_READ_LINK, {"p_link": link_id})
    if link is None:
        return None, "unattributed"
    try:
        tokens.verify(token, response.survey_id)
    except InvalidToken:
        try:
            tokens.verify(token, link.survey_id)
        except InvalidToken:
            return None, "unattributed"  # forged or tampered
        return None, "rejected"  # a genuine token of another survey
    return link, "started"


def apply_delivery(session: DbSession, delivery: Delivery, now: datetime, intake: Intake,
                   sql: Driver | None = None) -> Applied:
    """Apply one response event in the caller's transaction; safe to repeat, in any order.

    ``sql``: the session's connection, when the caller has found it already (the intake).
    """
    response = delivery.response
    value = extract_token(response, intake.hidden_field)
    if value == PLACEHOLDER:  # the host's echo of our own erasure: nothing in it to apply
        return Applied(response.id, "ignored", None, False, anonymous=True)
    if is_ticket(value):
        return _anonymous(session, response, value, None, now, intake)
    sql = sql or Driver(session)
    link, status = _link_of(sql, intake.tokens, response, value)
    if link is not None and link.anonymous:
        return _anonymous(session, response, str(value), link.id, now, intake)
    if link is None and is_anonymous(session, response.survey_id):
        if value is None:  # through the survey's public URL: nothing to tie, nothing to erase
            return Applied(response.id, "unmatched", None, False, anonymous=True)
        return _anonymous(session, response, value, None, now, intake)
    finished_at = response.updated_at if response.finished else None
    # a response before the link's validFrom (when /c/ answers "pending") is early: recorded, the link untouched
    early = link is not None and outcome_at(link, finished_at or response.created_at, intake.late_counts) == "early"
    if early and finished_at is None:
        status = "early"
    keys = {"p_response": response.id, "p_now": now}
    # a finished response's first delivery writes the status its finish should give (no other transaction sees
    # the row before the commit); a second statement only when the use count says otherwise
    expected = status if finished_at is None or link is None else outcome_at(link, finished_at, intake.late_counts)
    first = sql.first(_ATTRIBUTE, {
        **keys, "p_survey": response.survey_id, "p_status": expected, "p_link": None if link is None else link.id,
        "p_contact": None if link is None else link.contact_id, "p_started": response.created_at,
        "p_finished": finished_at}) is not None
    if first and link is not None and not early:  # the first delivery of this response: it started, through this link
        _record(sql, "response.started", link, now, {"responseId": response.id})
    claimed = finished_at is not None and (first or sql.rowcount(_CLAIM_FINISH, {**keys, "p_finished": finished_at}))
    if not claimed or link is None:
        if link is not None and not early:
            sql.run(_START, {"p_link": link.id, "p_started": response.created_at})
        if first:  # the row this delivery made says it all
            return Applied(response.id, status, None if link is None else link.id, bool(claimed))
        current = sql.first(_CURRENT, keys)
        assert current is not None  # noqa: S101 - made above or before, never deleted in a transaction
        return Applied(response.id, current.status, current.link_id, bool(claimed))
    assert finished_at is not None  # noqa: S101 - claimed implies finished
    status = _finish(sql, link, response, finished_at, intake.late_counts)
    if not first or status != expected:
        sql.run(_SET_STATUS, {**keys, "p_status": status})
    kind = {"attributed": "response.completed", "duplicate": "response.duplicate"}.get(status)
    if kind is not None:
        _record(sql, kind, link, now, {"responseId": response.id, "status": status, "finishedAt": iso(finished_at)})
    sql.run(_AUDIT, {"p_now": now, "p_action": "used" if status == "attributed" else status, "p_link": link.id,
                     "p_survey": link.survey_id, "p_contact": link.contact_id,
                     "p_detail": {"responseId": response.id}, "p_request": current_request_id()})
    return Applied(response.id, status, link.id, True)


def _record(sql: Driver, kind: str, link: Any, now: datetime, data: dict[str, Any]) -> None:
    events.record(sql.connection, kind, survey_id=link.survey_id, contact_id=link.contact_id, link_id=link.id,
                  at=now, data=data)


def _anonymous(session: DbSession, response: ResponseRecord, value: str, link_id: int | None, now: datetime,
               intake: Intake) -> Applied:
    status = apply_anonymous(session, response, value, link_id, now, intake.anonymous())
    return Applied(response.id, status, None, status not in ("started", "repeat"), anonymous=True)


def _finish(sql: Driver, link: Any, response: ResponseRecord, finished_at: datetime, late_counts: bool) -> str:
    """The status of a newly finished response: count the link's use once, if a use is left (attributed, else
    duplicate); the link started, unless the response is early (the link is left as it was)."""
    started = {"p_link": link.id, "p_started": response.created_at}
    status = outcome_at(link, finished_at, late_counts)
    if status == "attributed" and sql.rowcount(_START_AND_COUNT_USE, {**started, "p_finished": finished_at}) == 1:
        return "attributed"
    if status != "early":
        sql.run(_START, started)
    return "duplicate" if status == "attributed" else status
