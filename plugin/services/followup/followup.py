"""Follow-up: a survey's funnel, who has not answered yet (at the moment asked), who gave which response."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, literal, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from adapters.base import AdapterError
from plugin.db import DbSession
from plugin.errors import NotFound
from plugin.models import Contact, Link, ResponseAttribution
from plugin.services.anonymity.anonymity import refuse_if_anonymous
from plugin.services.followup import contacts_made
from plugin.services.followup.funnel import Funnel, funnel
from plugin.services.followup.suppressions import not_suppressed, reason_of
from plugin.services.links.export import csv_chunks, neutralised
from plugin.services.links.links import get_contact, in_segment, iter_batches, state_expression

FUNNEL = tuple(field.name for field in fields(Funnel))
# A contact has answered when a finished response came through one of their links with a valid token.
ANSWERED = ("attributed", "late", "duplicate")
CSV_HEADER = ("Contact ID", "Custom ID", "First Name", "Last Name", "Email", "Personal Link", "State",
              "Last Opened At", "Started At", "Expires At", "Reminders Sent", "Last Contacted At")
SUPPRESSED_COLUMN = "Suppressed"  # the reason; a last column when suppressed contacts are included


def funnel_counts(session: DbSession, survey_id: str, now: datetime) -> dict[str, int]:
    """The survey's funnel (``services.funnel``) by name: issued, opened, started, completed, expired, revoked."""
    return asdict(funnel(session, survey_id, now))


@dataclass(frozen=True, slots=True)
class NonRespondent:
    """A contact holding a live link to the survey and no finished response, with the link's progress."""

    contact_host_id: str
    custom_id: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    link_id: int
    survey_id: str
    state: str
    last_opened_at: datetime | None
    started_at: datetime | None
    expires_at: datetime | None
    reminders_sent: int  # confirmed reminders about this survey (``services.contacts_made``)
    last_contacted_at: datetime | None  # the last invitation or reminder sent, None: never
    cursor: int  # the contact's row id: a page continues after it (keyset paging)
    suppressed: str | None = None  # the reason, when suppressed contacts are included and this is one


def non_respondents(survey_id: str, now: datetime, *, stopped_only: bool = False,
                    segment_id: str | None = None, anonymous: bool = False,
                    include_suppressed: bool = False) -> Select[Any]:
    """Contacts with a live current link and no finished response; ``stopped_only``: those who started.

    ``anonymous``: the survey keeps no attributions; a contact has answered when one of their links to it was
    completed (the anonymous intake marks a link completed on its finished response, late ones included).
    Suppressed contacts (``services.suppressions``) are left out, unless ``include_suppressed``: then each row
    says why in its last column (None for the others).
    """
    link_state = state_expression(now)
    if anonymous:
        answered_link = aliased(Link)
        answered = exists().where(answered_link.survey_id == survey_id,
                                  answered_link.contact_id == Link.contact_id,
                                  answered_link.completed_at.is_not(None))
    else:
        answered = exists().where(ResponseAttribution.survey_id == survey_id,
                                  ResponseAttribution.contact_id == Link.contact_id,
                                  ResponseAttribution.finished_at.is_not(None),
                                  ResponseAttribution.status.in_(ANSWERED))
    query = (select(Contact.host_id, Contact.custom_id, Contact.first_name, Contact.last_name, Contact.email,
                    Link.id, Link.survey_id, link_state, Link.last_opened_at, Link.started_at, Link.expires_at,
                    contacts_made.reminders_sent(Link.survey_id, Link.contact_id),
                    contacts_made.last_contacted(Link.survey_id, Link.contact_id), Contact.id,
                    reason_of(Link.contact_id, Contact.email) if include_suppressed
                    else literal(None).label("suppressed"))
             .join(Contact, Contact.id == Link.contact_id)
             .where(Link.survey_id == survey_id, Link.is_current == true(), Contact.deleted_at.is_(None),
                    link_state == "live", ~answered)
             # the contact's id as the link holds it: the index (survey, contact) gives the rows in this order, so
             # a page reads its rows and stops, where ordering by contacts.id sorted every row first
             .order_by(Link.contact_id))
    if not include_suppressed:
        query = query.where(not_suppressed(Link.contact_id, Contact.email))
    if stopped_only:
        query = query.where(Link.started_at.is_not(None))
    if segment_id is not None:
        query = query.where(in_segment(segment_id, Link.contact_id))
    return query


def count(session: DbSession, query: Select[Any]) -> int:
    """The number of rows a query selects."""
    return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


@dataclass(frozen=True, slots=True)
class Page:
    """A page of non-respondents and where the next one starts (None after the last)."""

    rows: list[NonRespondent]
    next_cursor: int | None


def page(session: DbSession, query: Select[Any], limit: int, skip: int = 0, after: int | None = None) -> Page:
    """One page of ``non_respondents``: ``skip`` rows, or the rows after the ``after`` cursor (keyset: the
    millionth row costs what the first does). Reads one row more than asked to know whether another follows;
    no count of all rows (ask ``count`` for the total)."""
    if after is not None:
        query = query.where(Link.contact_id > after)
    rows = [NonRespondent(*row) for row in session.execute(query.limit(limit + 1).offset(skip))]
    more = len(rows) > limit
    return Page(rows[:limit], rows[limit - 1].cursor if more else None)


def csv_lines(session: DbSession, query: Select[Any], url_of: Callable[[int], str],
              iso: Callable[[datetime | None], str | None], batch: int = 5000,
              with_suppressed: bool = False) -> Iterator[str]:
    """The CSV header, then the rows of ``non_respondents`` streamed in chunks, cells neutralised against formulas;
    ``url_of`` is a link id's personal link (``PluginState.link_urls`` of the survey); ``with_suppressed`` adds
    the ``Suppressed`` column (the query's ``include_suppressed``)."""
    def cells(row: Sequence[Any]) -> list[Any]:
        # the columns of ``non_respondents``: host id, custom id, first, last, e-mail, link id, survey, state, ...
        line: list[Any] = neutralised(row[:5])
        line += (url_of(row[5]), row[7], iso(row[8]) or "", iso(row[9]) or "", iso(row[10]) or "", row[11],
                 iso(row[12]) or "")
        if with_suppressed:
            line.append(row[14] or "")
        return line

    # ``iter_batches`` runs the query on the first batch the response asks for, not when the view builds the body:
    # on PostgreSQL it reads through a server-side cursor, which must be opened where it is read.
    header = (*CSV_HEADER, SUPPRESSED_COLUMN) if with_suppressed else CSV_HEADER
    return csv_chunks(header, iter_batches(session, query, batch), cells)


@dataclass(frozen=True, slots=True)
class Attribution:
    """What the sidecar knows of one host response and the contact it came from (None when unattributed)."""

    response_id: str
    survey_id: str
    status: str
    contact_host_id: str | None
    link_id: int | None
    started_at: datetime | None
    finished_at: datetime | None


def _attributions() -> Any:
    return (select(ResponseAttribution.response_id, ResponseAttribution.survey_id, ResponseAttribution.status,
                   Contact.host_id, ResponseAttribution.link_id, ResponseAttribution.started_at,
                   ResponseAttribution.finished_at)
            .outerjoin(Contact, Contact.id == ResponseAttribution.contact_id))


def attribution_of(session: DbSession, response_id: str, survey_id: str | None = None,
                   host: Any = None) -> Attribution:
    """Which contact gave a response; Conflict (409) when the response's survey is anonymous (``survey_id`` when
    given, else the host's answer about a response the sidecar has no attribution of); NotFound when no delivery
    of it has arrived."""
    if survey_id is not None:
        refuse_if_anonymous(session, survey_id)
    row = session.execute(_attributions().where(ResponseAttribution.response_id == response_id)).first()
    if row is None:
        found = survey_id or _survey_on_host(host, response_id)
        if found is not None:
            refuse_if_anonymous(session, found)
        raise NotFound("response", f"no delivery of response {response_id!r} has arrived")
    refuse_if_anonymous(session, row.survey_id)  # an attribution from before a switch would be erased already
    return Attribution(*row)


def _survey_on_host(host: Any, response_id: str) -> str | None:
    """The survey of a response as the host says, when a host that can tell is configured and answers."""
    ask = getattr(host, "response_survey_id", None)
    if not callable(ask):
        return None
    try:
        survey_id = ask(response_id)
    except AdapterError:
        return None
    return survey_id if isinstance(survey_id, str) else None


def responses_of(session: DbSession, contact_host_id: str, survey_id: str | None = None) -> list[Attribution]:
    """The responses a contact gave (through their links), oldest first, optionally of one survey (Conflict when
    that survey is anonymous)."""
    if survey_id is not None:
        refuse_if_anonymous(session, survey_id)
    contact = get_contact(session, contact_host_id)
    query = _attributions().where(ResponseAttribution.contact_id == contact.id)
    if survey_id is not None:
        query = query.where(ResponseAttribution.survey_id == survey_id)
    return [Attribution(*row) for row in session.execute(query.order_by(ResponseAttribution.id))]
