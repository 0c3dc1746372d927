"""Issuing, reading and revoking personal links, set-based so a segment of a million costs a few statements.

The link-state rule lives in ``link_state``; ``STATES``, ``state_of`` and ``state_expression`` stay importable
from here too.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement, Select

from plugin import metrics
from plugin.clock import iso
from plugin.db import DbSession, UTCDateTime
from plugin.errors import NotFound, Refused
from plugin.logs import current_request_id
from plugin.models import AuditEvent, Contact, Link, Segment, SegmentMember, Survey
from plugin.services.events import events
from plugin.services.links.link_state import STATES as STATES
from plugin.services.links.link_state import expired_at_sql, has_use_left_sql, open_at_sql, state_expression
from plugin.services.links.link_state import state_of as state_of
from plugin.services.links.params import IssueOptions

log = logging.getLogger(__name__)


def expiry_differs(expires_at: datetime | None) -> ColumnElement[bool]:
    """Whether a link ends other than at ``expires_at`` (None: never): the links renewing to it would change."""
    return Link.expires_at.is_distinct_from(literal(expires_at, UTCDateTime))


def get_survey(session: DbSession, survey_id: str) -> Survey:
    """The survey, or NotFound naming the field ``survey``."""
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise NotFound("survey", f"survey {survey_id!r} is not known to the sidecar")
    return survey


def get_contact(session: DbSession, host_id: str) -> Contact:
    """The live contact with this host id, or NotFound naming ``contact``."""
    contact = session.scalar(select(Contact).where(Contact.host_id == host_id, Contact.deleted_at.is_(None)))
    if contact is None:
        raise NotFound("contact", f"contact {host_id!r} not found")
    return contact


def get_segment(session: DbSession, segment_id: str) -> Segment:
    """The segment, or NotFound; when there are no segments at all, the message says to create some."""
    segment = session.get(Segment, segment_id)
    if segment is not None:
        return segment
    if session.scalar(select(func.count()).select_from(Segment)) == 0:
        raise NotFound("segment", "there are no segments yet: create segments first (import a contact file "
                                  "with a 'segments' column, or sync them from the host)")
    raise NotFound("segment", f"segment {segment_id!r} not found")


def segment_contacts(segment_id: str) -> Select[Any]:
    """The ids of the segment's contacts that are not deleted."""
    return (
        select(SegmentMember.contact_id)
        .join(Contact, Contact.id == SegmentMember.contact_id)
        .where(SegmentMember.segment_id == segment_id, Contact.deleted_at.is_(None))
    )


def in_segment(segment_id: str, contact_id: Any) -> ColumnElement[bool]:
    """Whether ``contact_id`` (a column of the outer query) is one of the ``segment_contacts``.

    A correlated EXISTS: SQLite checks it row by row while reading the outer query in its index's order, where
    ``IN (segment_contacts)`` makes the list of all members first (a million for a large segment, on every page).
    """
    return (segment_contacts(segment_id).where(SegmentMember.contact_id == contact_id)
            .correlate_except(SegmentMember, Contact).exists())


def among(contacts: Select[Any]) -> ColumnElement[bool]:
    """Whether a link's contact is one of those ``contacts`` selects (one contact, a page of a segment)."""
    return Link.contact_id.in_(contacts.scalar_subquery())


@dataclass(frozen=True, slots=True)
class Batch:
    """The links one call of ``issue_links`` made: their ``batch_id`` column, how many; and how many it renewed."""

    id: str
    count: int
    renewed: int = 0


def issue_links(session: DbSession, survey: Survey, contacts: Select[Any], options: IssueOptions,
                now: datetime, actor: str, held: ColumnElement[bool] | None = None) -> Batch:
    """Give each contact selected a current link to the survey; return the batch of links made.

    A contact whose current link is live, pending or used keeps it (same URL); an expired one is replaced; a
    revoked one stays current, so the contact is left out, until ``options.reissue`` replaces it. With
    ``options.renew`` the unanswered live or pending links take the chosen expiry (same URL). With
    ``options.rotate`` every current link is revoked and replaced. ``held`` is the same contacts as a condition
    on a link's contact (``in_segment`` for a whole segment; by default ``among(contacts)``). Runs in the
    caller's transaction.
    """
    at = literal(now, UTCDateTime)
    current = and_(Link.survey_id == survey.id, Link.is_current == true(),
                   among(contacts) if held is None else held)
    if options.rotate:
        _audit_select(session, "revoked", actor, now, and_(current, Link.revoked_at.is_(None)), {"reason": "rotate"})
        events.record_links(session, "link.revoked", and_(current, Link.revoked_at.is_(None)), now,
                            {"reason": "rotate"})
        session.execute(update(Link).where(current).values(is_current=False,
                                                           revoked_at=func.coalesce(Link.revoked_at, at)))
    else:
        stale = and_(Link.revoked_at.is_(None), expired_at_sql(at), has_use_left_sql())
        if options.reissue:
            stale = or_(stale, Link.revoked_at.is_not(None))
        session.execute(update(Link).where(current, stale).values(is_current=False))
    renewed = _renew(session, current, options, now, actor) if options.renew and not options.rotate else 0
    batch = secrets.token_hex(8)
    source = contacts.subquery()
    rows = select(
        literal(survey.id), source.c[0], at, literal(options.valid_from, UTCDateTime),
        literal(options.expires_at, UTCDateTime), literal(options.max_uses), literal(0), literal(0),
        true(), literal(batch),
    ).where(~exists().where(Link.survey_id == survey.id, Link.is_current == true(),
                            Link.contact_id == source.c[0])
            ).order_by(source.c[0])  # link ids in contact order, whatever plan the database picks for the source
    columns = ["survey_id", "contact_id", "created_at", "valid_from", "expires_at", "max_uses", "use_count",
               "open_count", "is_current", "batch_id"]
    for attempt in (1, 2):
        try:
            with session.begin_nested():  # a concurrent issuer may win the unique (survey, contact, current)
                session.execute(insert(Link).from_select(columns, rows))
            break
        except IntegrityError:
            if attempt == 2:
                raise
            # The other issuer committed first; the NOT EXISTS now sees its links, so this round skips them.
    # Counted by batch, not by rowcount: the ORM's INSERT ... SELECT result has none on every driver.
    made = session.scalar(select(func.count()).select_from(Link).where(Link.batch_id == batch)) or 0
    if made:
        _audit_select(session, "issued", actor, now, Link.batch_id == batch, None)
        # one event per link, by one INSERT ... SELECT (no Python object per link), only while subscribed
        events.record_links(session, "link.issued", Link.batch_id == batch, now, {"batchId": batch})
        metrics.links_issued(made, actor.split(":", 1)[0])
        log.debug("issued %d links of survey %s (batch %s)", made, survey.id, batch)
    return Batch(batch, made, renewed)


def _renew(session: DbSession, current: Any, options: IssueOptions, now: datetime, actor: str) -> int:
    """Give the current unanswered links that have not ended the chosen expiry; their URLs stay the same. Only
    links whose expiry changes are counted and audited."""
    at = literal(now, UTCDateTime)
    unanswered = and_(current, Link.revoked_at.is_(None), has_use_left_sql(), open_at_sql(at),
                      expiry_differs(options.expires_at))
    count = int(session.scalar(select(func.count()).select_from(Link).where(unanswered)) or 0)
    if count:
        _audit_select(session, "renewed", actor, now, unanswered, {"expiresAt": iso(options.expires_at)})
        session.execute(update(Link).where(unanswered).values(expires_at=literal(options.expires_at, UTCDateTime)))
    return count


def _audit_select(session: DbSession, action: str, actor: str, now: datetime, which: ColumnElement[bool],
                  detail: dict[str, Any] | None) -> None:
    """One audit row per link ``which`` selects, written by one INSERT ... SELECT."""
    rows = (
        select(literal(now, UTCDateTime), literal(action), literal(actor), Link.id, Link.survey_id,
               Link.contact_id, literal(detail, AuditEvent.detail.type),
               literal(current_request_id(), AuditEvent.request_id.type))
        .where(which)
    )
    session.execute(insert(AuditEvent).from_select(
        ["at", "action", "actor", "link_id", "survey_id", "contact_id", "detail", "request_id"], rows))


def audit(session: DbSession, action: str, actor: str, now: datetime, *, link_id: int | None = None,
          survey_id: str | None = None, contact_id: int | None = None,
          detail: dict[str, Any] | None = None) -> None:
    """Record one action in the audit trail."""
    session.execute(insert(AuditEvent).values(at=now, action=action, actor=actor, link_id=link_id,
                                              survey_id=survey_id, contact_id=contact_id, detail=detail,
                                              request_id=current_request_id()))


@dataclass(frozen=True, slots=True)
class LinkRow:
    """A current link with its contact's fields, as the API and the CSV show it."""

    link_id: int
    survey_id: str
    contact_host_id: str
    custom_id: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    attributes: dict[str, Any]
    expires_at: datetime | None
    state: str


def _held_links(survey_id: str, chosen: ColumnElement[bool], *columns: Any) -> Select[Any]:
    """``columns`` of the current links the chosen contacts (``among``, ``in_segment``) hold to the survey, newest
    contact first.

    A revoked current link is a decision that holds: those contacts are left out (``issue_report`` counts them).
    """
    return (
        select(*columns)
        .join(Contact, Contact.id == Link.contact_id)
        .where(Link.survey_id == survey_id, Link.is_current == true(), chosen)
        .where(Link.revoked_at.is_(None))
        .order_by(Link.contact_id.desc())  # the contact's id; in the index (survey, contact): read in order, no sort
    )


def current_links(survey_id: str, chosen: ColumnElement[bool], now: datetime) -> Select[Any]:
    """The current links of the chosen contacts to the survey, newest contact first, as ``LinkRow``s."""
    return _held_links(survey_id, chosen, Link.id, Link.survey_id, Contact.host_id, Contact.custom_id,
                       Contact.first_name, Contact.last_name, Contact.email, Contact.attributes, Link.expires_at,
                       state_expression(now))


def iter_link_rows(session: DbSession, statement: Select[Any], batch: int = 2000) -> Iterator[LinkRow]:
    """Rows of ``current_links`` streamed in batches (server-side cursor on PostgreSQL)."""
    result = session.execute(statement.execution_options(yield_per=batch))
    for row in result:
        yield LinkRow(*row)


def export_links(survey_id: str, chosen: ColumnElement[bool]) -> Select[Any]:
    """The same links as ``current_links``, only the CSV's columns (link id, contact's host id, custom id, first
    and last name, e-mail): no attributes to decode, no state to work out, no timestamps to parse."""
    return _held_links(survey_id, chosen, Link.id, Contact.host_id, Contact.custom_id, Contact.first_name,
                       Contact.last_name, Contact.email)


def iter_batches(session: DbSession, statement: Select[Any], batch: int = 5000) -> Iterator[Sequence[Any]]:
    """The rows of a column query as plain tuples, ``batch`` at a time (server-side cursor on PostgreSQL).

    Read through the session's connection, not the ORM: a row costs what the driver makes of it. Runs when the
    first batch is asked for, so a streamed response opens its cursor where it reads it.
    """
    result = session.connection().execute(statement.execution_options(yield_per=batch))
    yield from result.partitions()


def revoke_link(session: DbSession, link_id: int, now: datetime, actor: str) -> Link:
    """Revoke a link (it stops opening at once); revoking twice keeps the first time.

    The link stays its contact's current one, so later downloads of the survey leave the contact out until an
    admin re-issues on purpose (``reissue``).
    """
    link = session.get(Link, link_id)
    if link is None:
        raise NotFound("link", f"link {link_id} not found")
    if link.revoked_at is None:
        session.execute(update(Link).where(Link.id == link_id, Link.revoked_at.is_(None)).values(revoked_at=now))
        audit(session, "revoked", actor, now, link_id=link.id, survey_id=link.survey_id,
              contact_id=link.contact_id)
        events.record(session, "link.revoked", survey_id=link.survey_id, contact_id=link.contact_id,
                      link_id=link.id, at=now, data={"reason": "revoked"})
        session.refresh(link)
    return link


def member_count(session: DbSession, segment_id: str) -> int:
    """How many live (not deleted) contacts the segment holds."""
    return int(session.scalar(select(func.count()).select_from(segment_contacts(segment_id).subquery())) or 0)


def require_members(session: DbSession, segment: Segment) -> int:
    """The number of live contacts in the segment; Refused when there are none."""
    count = member_count(session, segment.id)
    if count == 0:
        raise Refused("segmentId", "no contacts in segment",
                      f"segment {segment.title!r} has no contacts: add contacts to it first")
    return int(count)


def list_links(session: DbSession, survey_id: str, now: datetime, *, state: str | None = None,
               segment_id: str | None = None, limit: int = 100, skip: int = 0, after: int | None = None,
               with_total: bool = True) -> tuple[int | None, list[tuple[Link, str, str]], int | None]:
    """A page of a survey's links, newest first, with each contact's host id and the link's state: ``skip`` rows,
    or those after the ``after`` cursor (a link id; keyset: page 10,000 costs what page 1 does). The total (None
    unless ``with_total``: a count reads every row) and the next page's cursor (None after the last)."""
    link_state = state_expression(now)
    query = (select(Link, Contact.host_id, link_state).join(Contact, Contact.id == Link.contact_id)
             .where(Link.survey_id == get_survey(session, survey_id).id))
    if state:
        query = query.where(link_state == state)
    if segment_id:
        query = query.where(in_segment(get_segment(session, segment_id).id, Link.contact_id))
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0) if with_total else None
    if after is not None:
        query = query.where(Link.id < after)
    rows = session.execute(query.order_by(Link.id.desc()).limit(limit + 1).offset(skip)).all()
    more = len(rows) > limit
    page = [(link, host_id, link_state) for link, host_id, link_state in rows[:limit]]
    return total, page, page[-1][0].id if more else None
