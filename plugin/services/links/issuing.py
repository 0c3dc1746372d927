"""Issuing links as the admin asks for them: one contact, a page of a segment, or a whole segment.

Every path checks the same things (a link survey, a known contact or a non-empty segment, the options),
issues set-based with ``links.issue_links`` and, on a single-use survey, gives the new links their host
single-use URLs in the same transaction; ``Issued.report`` says how many links are new, renewed or kept (and
until when) and how many revoked contacts were left out. The caller commits, then reads ``Issued.rows``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.sql import ColumnElement, Select

from adapters.base import SurveyHost
from plugin.db import DbSession
from plugin.errors import InvalidInput, NotFound, Refused
from plugin.models import Contact, Link, Segment, SegmentMember, Survey
from plugin.services.followup.suppressions import not_suppressed, suppressed
from plugin.services.links import link_state, links
from plugin.services.links.issue_report import IssueReport, build_report, current_states
from plugin.services.links.params import IssueOptions, parse_issue_options
from plugin.services.links.single_use import attach_single_use_urls

HostProvider = Callable[[], SurveyHost | None]


@dataclass(frozen=True, slots=True)
class Issued:
    """Links issued: for how many contacts, what happened to them, and the query of their rows (newest first):
    ``rows`` for ``links.iter_link_rows``, ``export`` (the CSV's columns only) for ``links.iter_batches``."""

    survey: Survey
    segment: Segment | None
    members: int
    report: IssueReport
    rows: Select[Any]
    export: Select[Any]


def _link_survey(session: DbSession, survey_id: str) -> Survey:
    survey = links.get_survey(session, survey_id)
    if survey.type != "link":
        raise Refused("surveyId", "Not a link survey")
    return survey


def _issue(session: DbSession, survey: Survey, chosen: Select[Any], held: ColumnElement[bool],
           options: IssueOptions, now: datetime, actor: str, host: HostProvider,
           skipped: int = 0) -> IssueReport:
    before = current_states(session, survey.id, held, now, options.expires_at)
    batch = links.issue_links(session, survey, chosen, options, now, actor, held)
    if batch.count:
        attach_single_use_urls(session, survey, batch.id, host)
    return replace(build_report(before, options, batch.count, batch.renewed), suppressed_skipped=skipped)


def _members(session: DbSession, segment: Segment, options: IssueOptions) -> tuple[Select[Any], int, int]:
    """The segment's contacts to issue for (without the suppressed ones when ``skip_suppressed``), how many, and
    how many suppressed ones were left out; Refused when the segment has no live contact at all."""
    members = links.require_members(session, segment)
    chosen = links.segment_contacts(segment.id)
    if not options.skip_suppressed:
        return chosen, members, 0
    skipped = int(session.scalar(select(func.count()).select_from(
        chosen.where(suppressed(SegmentMember.contact_id, Contact.email)).subquery())) or 0)
    return chosen.where(not_suppressed(SegmentMember.contact_id, Contact.email)), members - skipped, skipped


def _refuse_revoked(survey: Survey, contact: Contact, link_id: int, revoked_at: datetime) -> Refused:
    return Refused("contactId", "Link revoked",
                   f"contact {contact.host_id!r}'s link {link_id} to survey {survey.id!r} was revoked on "
                   f"{revoked_at:%Y-%m-%d %H:%M} UTC and stays revoked: to give the contact a new link on purpose, "
                   f"ask again with reissue=true (or rotate=true), or re-issue link {link_id} "
                   f"(POST /api/personal-links/v1/links/{link_id}/reissue, personal-links links reissue {link_id})")


def issue_contact(session: DbSession, survey_id: str, contact_id: str, args: Mapping[str, str], now: datetime,
                  actor: str, host: HostProvider) -> Issued:
    """One contact's link: the current one while live, else a new one; Refused when already answered, or when
    the link was revoked and neither ``reissue`` nor ``rotate`` is asked for."""
    options = parse_issue_options(args, now)
    survey = _link_survey(session, survey_id)
    contact = links.get_contact(session, contact_id)
    return _issue_one(session, survey, contact, options, now, actor, host)


def _issue_one(session: DbSession, survey: Survey, contact: Contact, options: IssueOptions, now: datetime,
               actor: str, host: HostProvider) -> Issued:
    chosen = select(Contact.id).where(Contact.id == contact.id)
    current = session.execute(
        select(Link.revoked_at, links.state_expression(now), Link.id)
        .where(Link.survey_id == survey.id, Link.contact_id == contact.id, Link.is_current.is_(True))).first()
    if current is not None and current[1] == "used" and not options.rotate:
        raise Refused("contactId", "Already responded")
    if current is not None and current[0] is not None and not (options.reissue or options.rotate):
        raise _refuse_revoked(survey, contact, current[2], current[0])
    held = links.among(chosen)
    report = _issue(session, survey, chosen, held, options, now, actor, host)
    return Issued(survey, None, 1, report, links.current_links(survey.id, held, now),
                  links.export_links(survey.id, held))


def reissue_link(session: DbSession, link_id: int, args: Mapping[str, str], now: datetime, actor: str,
                 host: HostProvider) -> Issued:
    """Give the contact of a revoked link a new link to its survey, on purpose (the "re-issue" action).

    Options are those of the other issuing paths; without an expiry (or ``maxUses``) the new link takes the
    revoked one's while that is still ahead. Refused when the link is not revoked or was already replaced.
    """
    options = parse_issue_options(args, now)
    link = session.get(Link, link_id)
    if link is None:
        raise NotFound("link", f"link {link_id} not found")
    if link.revoked_at is None:
        raise Refused("linkId", "Not revoked", f"link {link_id} is not revoked: there is nothing to re-issue")
    if not link.is_current:
        raise Refused("linkId", "Already replaced",
                      f"link {link_id} was already replaced by a newer link of the same contact")
    contact = session.get(Contact, link.contact_id)
    if contact is None or contact.deleted_at is not None:
        raise Refused("linkId", "Contact deleted", f"the contact of link {link_id} is deleted")
    if not options.expiry_given and link.expires_at is not None and link_state.open_at(link.expires_at, now):
        options = replace(options, expires_at=link.expires_at)
    if not options.max_uses_given:
        options = replace(options, max_uses=link.max_uses)
    if options.valid_from is not None and options.expires_at is not None and options.valid_from >= options.expires_at:
        raise InvalidInput("validFrom", "must be before the expiry")
    options = replace(options, reissue=True, rotate=False, renew=False)
    return _issue_one(session, _link_survey(session, link.survey_id), contact, options, now, actor, host)


def issue_segment(session: DbSession, survey_id: str, segment_id: str, args: Mapping[str, str], now: datetime,
                  actor: str, host: HostProvider) -> Issued:
    """Every member of a segment gets a current link (the download of the host's Personal Links tab); members
    whose link was revoked are left out (and counted) unless ``reissue``, suppressed ones (and counted) unless
    ``skipSuppressed=false``: they get no link, and one they hold is not downloaded."""
    options = parse_issue_options(args, now)
    survey = _link_survey(session, survey_id)
    if not segment_id:
        raise InvalidInput("segment", "choose a segment")
    segment = links.get_segment(session, segment_id)
    chosen, members, skipped = _members(session, segment, options)
    held = links.in_segment(segment.id, Link.contact_id)
    if skipped:
        held = and_(held, not_suppressed(Link.contact_id))
    report = _issue(session, survey, chosen, held, options, now, actor, host, skipped)
    return Issued(survey, segment, members, report, links.current_links(survey.id, held, now),
                  links.export_links(survey.id, held))


def issue_segment_page(session: DbSession, survey_id: str, segment_id: str, args: Mapping[str, str], limit: int,
                       skip: int, now: datetime, actor: str, host: HostProvider) -> Issued:
    """One page of a segment, newest contact first, as the host's contact-links segment endpoint pages; the pages
    leave suppressed members out unless ``skipSuppressed=false`` (``members``: those the pages hold)."""
    options = parse_issue_options(args, now)
    survey = _link_survey(session, survey_id)
    segment = links.get_segment(session, segment_id)
    chosen, members, skipped = _members(session, segment, options)
    page = chosen.order_by(Contact.id.desc()).limit(limit).offset(skip)
    held = links.among(page)
    report = _issue(session, survey, page, held, options, now, actor, host, skipped)
    return Issued(survey, segment, members, report, links.current_links(survey.id, held, now),
                  links.export_links(survey.id, held))
