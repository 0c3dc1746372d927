"""The effect of a response delivery for an anonymous survey: the link completes, nothing of the response stays.

What is kept: the link's start and completion as days (UTC midnight), its use, per-survey tallies of responses
that used no link, and, until the host's copy of the ticket is overwritten, the response's id in
``host_erasures`` (no link, no contact). What is not: the response's attribution, the ticket's hash (forgotten
on the finished response; every ticket of a link once it is used up), any audit row. The erasure row is also
what makes a repeat of the same finished response a no-op (the attributed path has the attribution's unique id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update

from plugin.clock import day_of
from plugin.db import DbSession
from plugin.models import AnonymousTally, AnonymousTicket, HostErasure, Link, Survey
from plugin.services.events import events
from plugin.services.links.link_state import has_use_left_sql
from plugin.services.responses.link_rule import outcome_at
from plugin.services.responses.records import ResponseRecord
from plugin.services.set_once import earliest, insert_once
from plugin.tickets import Tickets, is_ticket

_LINKS, _TICKETS, _TALLIES = Link.__table__, AnonymousTicket.__table__, AnonymousTally.__table__
_FIND_TICKET = select(_TICKETS.c.link_id).where(_TICKETS.c.hash.in_(bindparam("p_hashes", expanding=True)))
_FORGET_TICKET = delete(_TICKETS).where(_TICKETS.c.hash.in_(bindparam("p_hashes", expanding=True)))
_FORGET_LINK_TICKETS = delete(_TICKETS).where(_TICKETS.c.link_id == bindparam("p_link"))
_READ_LINK = select(_LINKS.c.id, _LINKS.c.survey_id, _LINKS.c.contact_id, _LINKS.c.expires_at,
                    _LINKS.c.revoked_at, _LINKS.c.valid_from).where(_LINKS.c.id == bindparam("p_link"))
_USED_UP = select(~has_use_left_sql()).where(_LINKS.c.id == bindparam("p_link"))
_START_DAY = update(_LINKS).where(_LINKS.c.id == bindparam("p_link")).values(
    started_at=earliest(_LINKS.c.started_at, "p_started"))
_COUNT_USE = update(_LINKS).where(_LINKS.c.id == bindparam("p_link"), has_use_left_sql()).values(
    use_count=_LINKS.c.use_count + 1, completed_at=earliest(_LINKS.c.completed_at, "p_finished"))
# a late response marks the link completed without using it: nothing else remembers that its contact answered
_COMPLETE_DAY = update(_LINKS).where(_LINKS.c.id == bindparam("p_link")).values(
    completed_at=earliest(_LINKS.c.completed_at, "p_finished"))
_MODE = select(Survey.__table__.c.anonymous).where(Survey.__table__.c.id == bindparam("p_survey"))
TALLIED = ("duplicates", "late", "rejected", "unmatched", "erased")
# an early response (before the link's validFrom) is refused like a revoked link's: counted with the rejected
_TALLY_OF = {"duplicate": "duplicates", "late": "late", "rejected": "rejected", "early": "rejected",
             "unmatched": "unmatched"}


@dataclass(frozen=True, slots=True)
class Anonymous:
    """What the anonymous path needs: the ticket hasher, the late rule, and the wait before the first erasure
    (every delivery of one response arrives within it, so none finds its ticket gone)."""

    tickets: Tickets | None
    late_counts: bool
    erasure_delay: timedelta


def is_anonymous(session: DbSession, survey_id: str) -> bool:
    """Whether the survey of a response is anonymous (unknown surveys are not)."""
    return bool(session.connection().execute(_MODE, {"p_survey": survey_id}).scalar())


def tally(session: DbSession, survey_id: str, name: str, by: int = 1) -> None:
    """Add to one of the survey's anonymous tallies, making its row on first use."""
    column = _TALLIES.c[name]
    statement = update(_TALLIES).where(_TALLIES.c.survey_id == survey_id).values({name: column + by})
    if session.connection().execute(statement).rowcount == 0:
        insert_once(session, AnonymousTally, {"survey_id": survey_id}, "survey_id")
        session.connection().execute(statement)


def _link_of_ticket(session: DbSession, tickets: Tickets | None, ticket: str) -> tuple[int | None, list[str]]:
    if tickets is None:
        return None, []
    hashes = tickets.candidates(ticket)
    return session.connection().execute(_FIND_TICKET, {"p_hashes": hashes}).scalar(), hashes


def apply_anonymous(session: DbSession, response: ResponseRecord, value: str, link_id: int | None, now: datetime,
                    rules: Anonymous) -> str:
    """Apply a response of an anonymous survey carrying ``value`` in the hidden field (a ticket, or a token whose
    link ``link_id`` the caller found); the outcome's name. Safe to repeat, in any order."""
    connection = session.connection()
    hashes: list[str] = []
    if is_ticket(value):
        link_id, hashes = _link_of_ticket(session, rules.tickets, value)
    if not response.finished:
        if link_id is not None and (hashes or not _early(session, link_id, response.created_at)):
            connection.execute(_START_DAY, {"p_link": link_id, "p_started": day_of(response.created_at)})
        return "started"
    erasure = {"response_id": response.id, "survey_id": response.survey_id, "attempts": 0,
               "next_attempt_at": now + rules.erasure_delay}
    if insert_once(session, HostErasure, erasure, "response_id") is None:
        return "repeat"  # this finished response was applied before; its erasure is still pending
    outcome = "unmatched" if link_id is None else _finish(session, link_id, hashes, response, rules.late_counts)
    if outcome in _TALLY_OF:
        tally(session, response.survey_id, _TALLY_OF[outcome])
    return outcome


def _early(session: DbSession, link_id: int, started_at: datetime) -> bool:
    """Whether a response through a token of the link began before the link's validFrom. (A ticket's never did:
    tickets are handed out by opening a live link, and a link's validFrom never moves.)"""
    link = session.connection().execute(_READ_LINK, {"p_link": link_id}).first()
    return link is not None and outcome_at(link, started_at, False) == "early"


def _finish(session: DbSession, link_id: int, hashes: list[str], response: ResponseRecord, late_counts: bool) -> str:
    """Forget the ticket, mark the link started and completed on the days they happened, count the use once."""
    connection = session.connection()
    if hashes:
        connection.execute(_FORGET_TICKET, {"p_hashes": hashes})
    link = connection.execute(_READ_LINK, {"p_link": link_id}).first()
    if link is None:
        return "unmatched"
    finished_at = response.updated_at
    outcome = outcome_at(link, finished_at, late_counts)
    if outcome == "early":  # before the link's validFrom: the link is left as it was
        return outcome
    connection.execute(_START_DAY, {"p_link": link_id, "p_started": day_of(response.created_at)})
    if outcome == "rejected":
        return outcome
    if outcome == "late":
        connection.execute(_COMPLETE_DAY, {"p_link": link_id, "p_finished": day_of(finished_at)})
        return outcome
    counted = connection.execute(_COUNT_USE, {"p_link": link_id, "p_finished": day_of(finished_at)}).rowcount == 1
    if connection.execute(_USED_UP, {"p_link": link_id}).scalar():
        connection.execute(_FORGET_LINK_TICKETS, {"p_link": link_id})  # no other ticket of it can count now
    if counted:  # the contact answered: the follow-up tooling hears it, with the day and no response
        events.record(session, "response.completed", survey_id=link.survey_id, contact_id=link.contact_id,
                      link_id=link_id, at=day_of(finished_at), data={"anonymous": True})
    return "completed" if counted else "duplicate"

