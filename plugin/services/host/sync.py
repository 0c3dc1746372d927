"""Sync: pull contacts, segments and surveys from the adapters and apply them in one transaction.

Everything is fetched from the host first and written after, so a host that fails half-way leaves the
previous state whole. Each run is recorded in ``sync_runs`` in transactions of its own: the record of a
failed run survives the rollback of its changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from adapters.base import AdapterError, ContactSource, SurveyHost
from adapters.base import Contact as SourceContact
from adapters.base import Segment as SourceSegment
from adapters.base import Survey as HostSurvey
from plugin.clock import iso
from plugin.db import DbSession
from plugin.errors import Refused, ServiceError
from plugin.models import Segment, Survey, SyncRun
from plugin.services.contacts.contacts import import_contacts
from plugin.services.contacts.local_segments import evaluate_local_segments
from plugin.services.host.surveys import save_survey

log = logging.getLogger(__name__)

STEPS = ("contacts", "segments", "surveys", "apply", "local segments")
Progress = Callable[[str], None]
SEGMENT_KINDS = {"csv": "static"}  # segments of any other source are the host's own
STREAMED_SOURCES = {"csv"}  # local files: nothing to wait for half-way, so read while applied


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync run did: contacts added, changed and removed; segments and surveys synced."""

    run_id: int
    added: int = 0
    changed: int = 0
    removed: int = 0
    segments: int = 0
    surveys: int = 0


@dataclass(frozen=True, slots=True)
class _Fetched:
    contacts: Iterable[SourceContact] | None
    segments: Iterable[SourceSegment]
    surveys: list[HostSurvey] | None


def _later(source: ContactSource) -> Iterator[SourceSegment]:
    yield from source.segments()  # asked only once the contacts have been read


def _fetch(source: ContactSource | None, host: SurveyHost | None, progress: Progress) -> _Fetched:
    """Everything from the adapters, before any write; a local file's contacts are read while they are applied
    (in flat memory; a bad row rolls the sync back like any error)."""
    if source is not None and source.name in STREAMED_SOURCES:
        progress("contacts")
        progress("segments")
        surveys = list(host.surveys()) if host is not None else None
        progress("surveys")
        return _Fetched(source.contacts(), _later(source), surveys)
    try:
        contacts = list(source.contacts()) if source is not None else None
    except AdapterError as exc:
        if exc.status == 403 and source is not None and source.name == "formbricks":
            raise AdapterError(
                "Formbricks has no Enterprise 'Contacts' licence (403), so it cannot be the contact source. "
                "Use the Community Edition setup: set PERSONAL_LINKS_CONTACT_SOURCE=csv and "
                "PERSONAL_LINKS_CONTACTS_CSV to your contact file, keep PERSONAL_LINKS_SURVEY_HOST=formbricks "
                "(see docs/formbricks.md)", status=403, body=exc.body) from exc
        raise
    progress("contacts")
    segments = list(source.segments()) if source is not None else []
    progress("segments")
    surveys = list(host.surveys()) if host is not None else None
    progress("surveys")
    return _Fetched(contacts, segments, surveys)


def survey_body(survey: HostSurvey) -> dict[str, object]:
    """A host survey as the body ``save_survey`` takes; its language only when the host names one (a language
    set by hand stays otherwise)."""
    body: dict[str, object] = {"name": survey.name[:255] or survey.id, "publicUrl": survey.public_url,
                               "type": survey.type, "status": survey.status,
                               "hiddenFieldIds": list(survey.hidden_field_ids), "singleUse": survey.single_use}
    if survey.language:
        body["language"] = survey.language
    return body


def _same(row: Survey, body: dict[str, object], source: str) -> bool:
    return (row.name, row.public_url, row.type, row.status, list(row.hidden_field_ids or []), row.single_use,
            row.source) == (body["name"], body["publicUrl"], body["type"], body["status"],
                            body["hiddenFieldIds"], body["singleUse"], source) and (
        "language" not in body or row.language == body["language"])


def apply_surveys(session: DbSession, surveys: Sequence[HostSurvey], now: datetime, source: str) -> int:
    """Save the host's surveys (only those that changed); its surveys now missing are marked ``deleted``."""
    seen = set()
    for survey in surveys:
        seen.add(survey.id)
        body = survey_body(survey)
        row = session.get(Survey, survey.id)
        if row is None or not _same(row, body, source):
            save_survey(session, survey.id, body, now, "", source=source)
    stale = update(Survey).where(Survey.source == source, Survey.status != "deleted")
    if seen:
        stale = stale.where(Survey.id.not_in(seen))
    session.execute(stale.values(status="deleted", updated_at=now))
    return len(seen)


def _apply(session: DbSession, fetched: _Fetched, source: ContactSource | None, host: SurveyHost | None,
           now: datetime, actor: str) -> SyncResult:
    added = changed = removed = segments = 0
    if fetched.contacts is not None and source is not None:
        kind = SEGMENT_KINDS.get(source.name, "host")
        result = import_contacts(session, fetched.contacts, fetched.segments, now, actor, source=source.name,
                                 replace=True, kind=kind)
        added, changed, removed, segments = result.added, result.changed, result.removed, result.segments
        if kind == "host":  # segments gone from the host go here too; static ones stay as imported
            gone = delete(Segment).where(Segment.kind == "host")
            if ids := [s.id for s in fetched.segments]:
                gone = gone.where(Segment.id.not_in(ids))
            session.execute(gone)
    surveys = apply_surveys(session, fetched.surveys, now, host.name) if fetched.surveys is not None and host \
        else 0
    return SyncResult(0, added, changed, removed, segments, surveys)


RUNNING_FOR_AT_MOST = timedelta(minutes=30)  # an older "running" run is a process that died mid-sync


def _refuse_if_another_runs(session: DbSession, run_id: int, now: datetime, end: Callable[[], datetime]) -> None:
    """Refuse when an earlier sync is still running (the CLI and the scheduler, say): two at once could
    interleave their writes. Each run checks after recording itself, so of two that start together at least
    the later one refuses."""
    earlier = session.scalar(select(SyncRun.id).where(
        SyncRun.status == "running", SyncRun.id < run_id, SyncRun.started_at > now - RUNNING_FOR_AT_MOST))
    if earlier is None:
        return
    message = f"sync {earlier} is still running; try again when it has finished"
    session.execute(update(SyncRun).where(SyncRun.id == run_id).values(status="failed", finished_at=end(),
                                                                       error=message))
    session.commit()
    raise Refused("sync", "already running", message)


def sync(session: DbSession, contact_source: ContactSource | None, survey_host: SurveyHost | None,
         now: datetime, actor: str, progress: Progress | None = None,
         finished: Callable[[], datetime] | None = None) -> SyncResult:
    """Run one sync and record it; commits. On any error the changes roll back, the run is recorded as
    failed with the message, and the error is raised again for the caller to show.

    ``finished`` gives the end time (default ``now``); ``progress`` is called with each step of ``STEPS``.
    """
    step = progress or (lambda name: None)
    end = finished or (lambda: now)
    run = SyncRun(started_at=now, status="running", actor=actor)
    session.add(run)
    session.commit()
    run_id = run.id
    _refuse_if_another_runs(session, run_id, now, end)
    try:
        fetched = _fetch(contact_source, survey_host, step)
        result = _apply(session, fetched, contact_source, survey_host, now, actor)
        step("apply")
        local = evaluate_local_segments(session, now)
        step("local segments")
        result = SyncResult(run_id, result.added, result.changed, result.removed, result.segments + local,
                            result.surveys)
        session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
            status="succeeded", finished_at=end(), added=result.added,
            changed=result.changed, removed=result.removed, segments=result.segments, surveys=result.surveys))
        session.commit()
    except Exception as exc:  # whatever stopped it, the run is recorded as failed before the error goes on
        session.rollback()
        known = isinstance(exc, AdapterError | ServiceError | SQLAlchemyError)
        text = getattr(exc, "message", None) or (str(exc).splitlines() or [""])[0]
        message = text if known else f"{type(exc).__name__}: {text}"
        log.warning("sync %d failed: %s", run_id, message)
        session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
            status="failed", finished_at=end(), error=message[:2000]))
        session.commit()
        raise
    log.info("sync %d: %d added, %d changed, %d removed, %d segments, %d surveys", run_id, result.added,
             result.changed, result.removed, result.segments, result.surveys)
    return result


def recent_runs(session: DbSession, limit: int = 20) -> list[SyncRun]:
    """The latest sync runs, newest first."""
    return list(session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)))


def run_json(run: SyncRun) -> dict[str, object]:
    """A sync run as the admin API shows it."""
    return {"id": run.id, "status": run.status, "actor": run.actor,
            "startedAt": iso(run.started_at), "finishedAt": iso(run.finished_at),
            "added": run.added, "changed": run.changed, "removed": run.removed, "segments": run.segments,
            "surveys": run.surveys, "error": run.error}
