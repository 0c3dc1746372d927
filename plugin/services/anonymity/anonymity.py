"""A survey's mode: attributed (responses tied to contacts) or anonymous (docs/anonymity.md), and switching it.

Switching an attributed survey to anonymous erases what ties its earlier responses to contacts: attributions,
the respondents' audit rows (opens, uses), the stored webhook bodies, their times and the link times finer than
a day, the outbound events that name a response or an open; the host's copies of those responses get their token
overwritten like any anonymous response's ticket. Nothing comes back when a survey is switched back: responses
given while it was anonymous stay anonymous.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, select, update

from plugin.clock import day_of
from plugin.db import DbSession
from plugin.errors import Conflict
from plugin.models import AnonymousTally, AuditEvent, HostErasure, Link, ResponseAttribution, Survey
from plugin.services.events import anonymous_events
from plugin.services.links.links import audit
from plugin.services.set_once import insert_once
from webhooks import store
from webhooks.models import InboxDelivery

RESPONDENT_ACTORS = ("respondent", "webhook")  # who writes the audit rows of opens and responses
BATCH = 1000


@dataclass(frozen=True, slots=True)
class ModeChange:
    """What switching a survey's mode did: attributions erased, host responses queued for their token's erasure."""

    anonymous: bool
    changed: bool
    attributions_erased: int = 0
    erasures_queued: int = 0


def refuse_if_anonymous(session: DbSession, survey_id: str, what: str = "responses") -> None:
    """Conflict (409) when the survey is anonymous: its responses are never tied to anyone."""
    if session.scalar(select(Survey.anonymous).where(Survey.id == survey_id)):
        raise Conflict("surveyId", "anonymous",
                       f"survey {survey_id!r} is anonymous: the sidecar does not know, and will not tell, which "
                       f"contact gave which response ({what} are never attributed)")


def attributions_of(session: DbSession, survey_id: str) -> int:
    """How many attributions switching the survey to anonymous would erase."""
    return int(session.scalar(select(func.count()).select_from(ResponseAttribution)
                              .where(ResponseAttribution.survey_id == survey_id)) or 0)


def opened_links_of(session: DbSession, survey_id: str) -> int:
    """How many of the survey's links have open times that switching it to anonymous would erase."""
    return int(session.scalar(select(func.count()).select_from(Link).where(
        Link.survey_id == survey_id, Link.first_opened_at.is_not(None))) or 0)


def set_mode(session: DbSession, survey: Survey, anonymous: bool, now: datetime, actor: str, *,
             erase_attributions: bool = False) -> ModeChange:
    """Make the survey anonymous or attributed. A survey with attributions or opened links becomes anonymous only
    with ``erase_attributions`` (Conflict saying how many it would erase otherwise); one with nothing to erase (a
    new survey, links not yet opened) needs no flag."""
    if bool(survey.anonymous) == anonymous:
        return ModeChange(anonymous, False)
    if not anonymous:
        survey.anonymous, survey.anonymous_since = False, None
        audit(session, "attributed", actor, now, survey_id=survey.id,
              detail={"note": "responses given while anonymous stay anonymous"})
        session.flush()
        return ModeChange(False, True)
    count, opened = attributions_of(session, survey.id), opened_links_of(session, survey.id)
    if (count or opened) and not erase_attributions:
        raise Conflict("eraseAttributions", "required",
                       f"making survey {survey.id!r} anonymous erases its {count} attribution(s) and the open times "
                       f"of {opened} link(s), with the respondents' audit rows; send eraseAttributions: true to "
                       f"do it", headline=True)
    queued = _erase_attributions(session, survey.id, now)
    survey.anonymous, survey.anonymous_since = True, day_of(now)
    insert_once(session, AnonymousTally, {"survey_id": survey.id}, "survey_id")
    audit(session, "anonymous", actor, now, survey_id=survey.id, detail={"attributionsErased": count})
    session.flush()
    return ModeChange(True, True, count, queued)


def _erase_attributions(session: DbSession, survey_id: str, now: datetime) -> int:
    """Everything that ties the survey's earlier responses and opens to a contact; the host erasures queued."""
    response_ids = list(session.scalars(select(ResponseAttribution.response_id)
                                        .where(ResponseAttribution.survey_id == survey_id)))
    queued = 0
    for response_id in response_ids:
        queued += insert_once(session, HostErasure, {
            "response_id": response_id, "survey_id": survey_id, "attempts": 0, "next_attempt_at": now},
            "response_id") is not None
    session.execute(delete(ResponseAttribution).where(ResponseAttribution.survey_id == survey_id))
    session.execute(delete(AuditEvent).where(AuditEvent.survey_id == survey_id,
                                             AuditEvent.actor.in_(RESPONDENT_ACTORS)))
    session.execute(update(Link).where(Link.survey_id == survey_id).values(
        first_opened_at=None, last_opened_at=None, open_count=case((Link.open_count > 0, 1), else_=0)))
    timed = session.execute(select(Link.id, Link.started_at, Link.completed_at).where(
        Link.survey_id == survey_id, (Link.started_at.is_not(None)) | (Link.completed_at.is_not(None)))).all()
    for link_id, started, completed in timed:
        session.execute(update(Link).where(Link.id == link_id).values(
            started_at=started and day_of(started), completed_at=completed and day_of(completed)))
    _forget_bodies(session, survey_id)
    anonymous_events.forget_survey_events(session, survey_id)
    return queued


def _forget_bodies(session: DbSession, survey_id: str) -> None:
    """Empty the stored bodies of the survey's applied or ignored deliveries (they hold tokens and response ids)
    and keep their times as days, as the anonymous intake keeps its own."""
    candidates = session.execute(select(InboxDelivery.id, InboxDelivery.body, InboxDelivery.received_at,
                                        InboxDelivery.applied_at).where(
        InboxDelivery.status.in_(("applied", "ignored")), InboxDelivery.body.contains(survey_id))).all()
    by_days: dict[tuple[datetime, datetime | None], list[int]] = defaultdict(list)
    for row_id, body, received, applied in candidates:
        if _survey_of(body) == survey_id:
            by_days[(day_of(received), applied and day_of(applied))].append(row_id)
    for (received, applied), ids in by_days.items():
        for start in range(0, len(ids), BATCH):
            session.execute(update(InboxDelivery).where(InboxDelivery.id.in_(ids[start:start + BATCH])).values(
                body=store.FORGOTTEN, event="response", received_at=received, applied_at=applied,
                next_attempt_at=None))


def _survey_of(body: str) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    data = document.get("data") if isinstance(document, dict) else None
    survey = data.get("surveyId") if isinstance(data, dict) else None
    return survey if isinstance(survey, str) else None


@dataclass(frozen=True, slots=True)
class ErasureState:
    """Where the overwriting of an anonymous survey's tickets on the host stands."""

    erased: int  # responses whose ticket was overwritten
    pending: int  # waiting for their first attempt or a retry
    refused: int  # of those, the host refused the last attempt (401/403: the key lacks write access)
    last_error: str | None
    duplicates: int = 0
    late: int = 0
    rejected: int = 0
    unmatched: int = 0


def erasure_state(session: DbSession, survey_id: str) -> ErasureState:
    """The survey's erasures done and pending, and its per-survey tallies."""
    tally = session.get(AnonymousTally, survey_id)
    pending, refused = session.execute(select(
        func.count(), func.count().filter(HostErasure.last_status.in_((401, 403))))
        .where(HostErasure.survey_id == survey_id)).one()
    last_error = session.scalar(select(HostErasure.last_error).where(
        HostErasure.survey_id == survey_id, HostErasure.last_error.is_not(None)).limit(1))
    counts = (0, 0, 0, 0, 0) if tally is None else (tally.erased, tally.duplicates, tally.late, tally.rejected,
                                                      tally.unmatched)
    return ErasureState(counts[0], int(pending or 0), int(refused or 0), last_error, *counts[1:])


@dataclass(frozen=True, slots=True)
class Mode:
    """A survey's mode as the admin pages show it: anonymous since when, and its tickets' erasure state."""

    anonymous: bool
    since: datetime | None
    erasures: ErasureState | None
    host_can_erase: bool


def mode_of(session: DbSession, survey: Survey, host_can_erase: bool) -> Mode:
    """The survey's mode; the erasure state for an anonymous survey, or one with erasures still pending."""
    erasures = erasure_state(session, survey.id)
    shown = erasures if survey.anonymous or erasures.pending or erasures.erased else None
    return Mode(bool(survey.anonymous), survey.anonymous_since, shown, host_can_erase)
