"""Issuing a whole segment's links for download, as the host's Personal Links tab does."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.sql import Select

from adapters.base import SurveyHost
from plugin.db import DbSession
from plugin.errors import InvalidInput, Refused
from plugin.models import Segment, Survey
from plugin.services import links
from plugin.services.expiry import parse_issue_options
from plugin.services.single_use import attach_single_use_urls


@dataclass(frozen=True, slots=True)
class Issued:
    """A segment's links, issued: how many contacts, how many links are new, and the rows to download."""

    survey: Survey
    segment: Segment
    members: int
    made: int
    rows: Select[Any]


def issue_segment(session: DbSession, survey_id: str, segment_id: str, args: Mapping[str, str], now: datetime,
                  actor: str, survey_host: Callable[[], SurveyHost | None]) -> Issued:
    """Check everything, then give each member a current link; the caller commits and streams ``rows``.

    On a single-use survey each new link also gets its own single-use URL from ``survey_host()``, in the same
    transaction (AdapterError when the host fails: the caller rolls back).
    """
    options = parse_issue_options(args, now)
    survey = links.get_survey(session, survey_id)
    if survey.type != "link":
        raise Refused("surveyId", "Not a link survey")
    if not segment_id:
        raise InvalidInput("segment", "choose a segment")
    segment = links.get_segment(session, segment_id)
    members = links.require_members(session, segment)
    chosen = links.segment_contacts(segment.id)
    made = links.issue_links(session, survey, chosen, options, now, actor)
    attach_single_use_urls(session, survey, now, survey_host)
    return Issued(survey, segment, members, made, links.current_links(survey.id, chosen, now))
