"""Issuing links as the admin asks for them: one contact, a page of a segment, or a whole segment.

Every path checks the same things (a link survey, a known contact or a non-empty segment, the options),
issues set-based with ``links.issue_links`` and, on a single-use survey, gives the new links their host
single-use URLs in the same transaction. The caller commits, then reads ``Issued.rows``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql import Select

from adapters.base import SurveyHost
from plugin.db import DbSession
from plugin.errors import InvalidInput, Refused
from plugin.models import Contact, Segment, Survey
from plugin.services import links
from plugin.services.params import IssueOptions, parse_issue_options
from plugin.services.single_use import attach_single_use_urls

HostProvider = Callable[[], SurveyHost | None]


@dataclass(frozen=True, slots=True)
class Issued:
    """Links issued: for how many contacts, how many are new, and the query of their rows (newest first)."""

    survey: Survey
    segment: Segment | None
    members: int
    made: int
    rows: Select[Any]


def _link_survey(session: DbSession, survey_id: str) -> Survey:
    survey = links.get_survey(session, survey_id)
    if survey.type != "link":
        raise Refused("surveyId", "Not a link survey")
    return survey


def _issue(session: DbSession, survey: Survey, chosen: Select[Any], options: IssueOptions, now: datetime,
           actor: str, host: HostProvider) -> int:
    batch = links.issue_links(session, survey, chosen, options, now, actor)
    if batch.count:
        attach_single_use_urls(session, survey, batch.id, host)
    return batch.count


def issue_contact(session: DbSession, survey_id: str, contact_id: str, args: Mapping[str, str], now: datetime,
                  actor: str, host: HostProvider) -> Issued:
    """One contact's link: the current one while live, else a new one; Refused when already answered."""
    options = parse_issue_options(args, now)
    survey = _link_survey(session, survey_id)
    contact = links.get_contact(session, contact_id)
    chosen = select(Contact.id).where(Contact.id == contact.id)
    current = next(links.iter_link_rows(session, links.current_links(survey.id, chosen, now)), None)
    if current is not None and current.state == "used" and not options.rotate:
        raise Refused("contactId", "Already responded")
    made = _issue(session, survey, chosen, options, now, actor, host)
    return Issued(survey, None, 1, made, links.current_links(survey.id, chosen, now))


def issue_segment(session: DbSession, survey_id: str, segment_id: str, args: Mapping[str, str], now: datetime,
                  actor: str, host: HostProvider) -> Issued:
    """Every member of a segment gets a current link (the download of the host's Personal Links tab)."""
    options = parse_issue_options(args, now)
    survey = _link_survey(session, survey_id)
    if not segment_id:
        raise InvalidInput("segment", "choose a segment")
    segment = links.get_segment(session, segment_id)
    members = links.require_members(session, segment)
    chosen = links.segment_contacts(segment.id)
    made = _issue(session, survey, chosen, options, now, actor, host)
    return Issued(survey, segment, members, made, links.current_links(survey.id, chosen, now))


def issue_segment_page(session: DbSession, survey_id: str, segment_id: str, args: Mapping[str, str], limit: int,
                       skip: int, now: datetime, actor: str, host: HostProvider) -> Issued:
    """One page of a segment, newest contact first, as the host's contact-links segment endpoint pages."""
    options = parse_issue_options(args, now)
    survey = _link_survey(session, survey_id)
    segment = links.get_segment(session, segment_id)
    members = links.require_members(session, segment)
    page = links.segment_contacts(segment.id).order_by(Contact.id.desc()).limit(limit).offset(skip)
    made = _issue(session, survey, page, options, now, actor, host)
    return Issued(survey, segment, members, made, links.current_links(survey.id, page, now))
