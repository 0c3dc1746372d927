"""Reconciling missed webhooks: Formbricks 4.x never retries a delivery and 5.x gives up after a few tries,
with no replay API. For each survey with links still in play, page through the host's responses since the
last reconciled point and apply every finished response not seen yet, through the webhook's own code path.

A survey's point moves only when its whole listing was read and applied; a host failure part-way leaves it
where it was (what was applied before the failure is rolled back and simply applied again next time).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from adapters.base import AdapterError, HostResponse, SurveyHost
from plugin import metrics
from plugin.clock import day_of
from plugin.db import DbSession
from plugin.models import Link, ReconcilePoint, ResponseAttribution
from plugin.services.links.link_state import open_at_sql
from plugin.services.responses.anonymous import is_anonymous
from plugin.services.responses.attribution import Intake, apply_delivery
from plugin.services.responses.records import Delivery, ResponseRecord

log = logging.getLogger(__name__)
OVERLAP = timedelta(minutes=10)  # re-read a little before the point: host clocks and slow writes


class ReconcileFailed(AdapterError):
    """Raised after a run in which the host failed for some surveys; ``failed`` names them."""

    def __init__(self, failed: dict[str, str]) -> None:
        detail = "; ".join(f"{survey}: {error}" for survey, error in failed.items())
        super().__init__(f"reconcile failed for {len(failed)} survey(s): {detail}")
        self.failed = failed


def surveys_in_play(session: DbSession, now: datetime) -> list[str]:
    """Surveys with a link that can still be answered (or just stopped being): not revoked nor purged."""
    recent = now - timedelta(days=1)
    return list(session.scalars(
        select(Link.survey_id).where(Link.revoked_at.is_(None), Link.purged_at.is_(None), open_at_sql(recent))
        .distinct().order_by(Link.survey_id)))


def as_record(response: HostResponse, now: datetime) -> ResponseRecord:
    """The webhook's record of a listed response."""
    created = response.created_at or response.updated_at or now
    return ResponseRecord(id=response.id, survey_id=response.survey_id, finished=response.finished,
                          created_at=created, updated_at=response.updated_at or created,
                          contact_id=response.contact_id, data=response.data, meta_url=response.meta_url,
                          single_use_id=response.single_use_id)


def _seen_finished(session: DbSession, response_id: str) -> bool:
    return session.scalar(select(ResponseAttribution.id).where(
        ResponseAttribution.response_id == response_id, ResponseAttribution.finished_at.is_not(None))) is not None


def reconcile_survey(session: DbSession, host: SurveyHost, survey_id: str, now: datetime,
                     intake: Intake) -> int:
    """Apply the survey's unseen finished responses and move its point; commit; return how many applied."""
    point = session.get(ReconcilePoint, survey_id)
    since = point.reconciled_until - OVERLAP if point else None
    newest = point.reconciled_until if point else None
    applied = 0
    outcomes: list[str] = []
    for response in host.responses(survey_id, since):
        record = as_record(response, now)
        newest = record.updated_at if newest is None else max(newest, record.updated_at)
        if not record.finished or _seen_finished(session, record.id):
            continue
        outcome = apply_delivery(session, Delivery("responseFinished", "reconcile", record), now, intake)
        if outcome.decided:
            outcomes.append(outcome.status)
        applied += 1
    if newest is not None:
        if is_anonymous(session, survey_id):  # the point would be the newest response's time: keep the day only
            newest = day_of(newest)
        if point is None:
            session.add(ReconcilePoint(survey_id=survey_id, reconciled_until=newest, updated_at=now))
        else:
            point.reconciled_until, point.updated_at = newest, now
    session.commit()
    for status in outcomes:  # counted once committed
        metrics.response_applied(status)
    return applied


def reconcile(session: DbSession, host: SurveyHost, now: datetime, intake: Intake) -> dict[str, int]:
    """Reconcile every survey in play; ReconcileFailed (after trying them all) when the host failed for any."""
    counts = {"surveys": 0, "applied": 0}
    failed: dict[str, str] = {}
    for survey_id in surveys_in_play(session, now):
        try:
            counts["applied"] += reconcile_survey(session, host, survey_id, now, intake)
            counts["surveys"] += 1
        except AdapterError as exc:
            session.rollback()
            failed[survey_id] = exc.message
            log.warning("reconcile of survey %s failed, its point stays: %s", survey_id, exc.message)
    if failed:
        raise ReconcileFailed(failed)
    return counts
