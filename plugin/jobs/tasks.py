"""The jobs themselves: thin wrappers that read settings and call the service functions the CLI calls too.

Each takes the session, the time and the app's config, and returns the counts to record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from plugin import metrics
from plugin.db import DbSession
from plugin.services.adapters import configured
from plugin.services.erasure import erase_pending
from plugin.services.purge import purge
from plugin.services.reconcile import reconcile
from plugin.services.sync import sync
from plugin.state import state
from webhooks.apply import Intake, apply_pending

Counts = dict[str, int]
JobFunction = Callable[[DbSession, datetime, Mapping[str, Any]], Counts]


def purge_job(session: DbSession, now: datetime, config: Mapping[str, Any]) -> Counts:
    """Expired tokens, then old link rows, then old inbox deliveries, each after its retention."""
    return purge(session, now, token_days=int(config["TOKEN_RETENTION_DAYS"]),
                 link_days=int(config["LINK_RETENTION_DAYS"]), inbox_days=int(config["INBOX_RETENTION_DAYS"]),
                 actor="scheduler")


def intake(config: Mapping[str, Any]) -> Intake:
    """What applying a response needs, as the webhook receiver builds it."""
    return Intake(state().tokens, state().hidden_field, bool(config["LATE_RESPONSES_COUNT"]), state().tickets,
                  timedelta(seconds=int(config["ERASURE_DELAY_SECONDS"])))


def retry_job(session: DbSession, now: datetime, config: Mapping[str, Any]) -> Counts:
    """Webhook deliveries that failed to apply, again, with backoff, until they are flagged dead."""
    counts = apply_pending(session, now, intake(config), limit=500, max_attempts=int(config["RETRY_MAX_ATTEMPTS"]))
    metrics.deliveries_retried(counts)
    return counts


def reconcile_job(session: DbSession, now: datetime, config: Mapping[str, Any]) -> Counts:
    """Responses whose webhooks never came, from the host's listing (needs a survey host)."""
    host = configured(current_app._get_current_object()).survey_host  # type: ignore[attr-defined]
    if host is None:
        return {"surveys": 0, "applied": 0, "skipped": 1}  # surveys registered by hand: nothing to list
    return reconcile(session, host, now, intake(config))


def erase_job(session: DbSession, now: datetime, config: Mapping[str, Any]) -> Counts:
    """Tickets of anonymous surveys' responses, overwritten on the host (retried until each succeeds)."""
    host = configured(current_app._get_current_object()).survey_host  # type: ignore[attr-defined]
    return erase_pending(session, host, now, state().hidden_field, limit=500)


def sync_job(session: DbSession, now: datetime, config: Mapping[str, Any]) -> Counts:
    """Contacts, segments and surveys from the configured adapters (the sync records its own run too)."""
    adapters = configured(current_app._get_current_object())  # type: ignore[attr-defined]
    if adapters.contact_source is None and adapters.survey_host is None:
        return {"skipped": 1}  # contacts imported and surveys registered by hand
    result = sync(session, adapters.contact_source, adapters.survey_host, now, "scheduler")
    return {"added": result.added, "changed": result.changed, "removed": result.removed,
            "segments": result.segments, "surveys": result.surveys}


@dataclass(frozen=True, slots=True)
class Job:
    """A scheduled job: its fixed id, the setting that gives its interval, and its function."""

    name: str
    interval_setting: str
    function: JobFunction


JOBS: dict[str, Job] = {
    "purge": Job("purge", "PURGE_INTERVAL_SECONDS", purge_job),
    "retry": Job("retry", "RETRY_INTERVAL_SECONDS", retry_job),
    "reconcile": Job("reconcile", "RECONCILE_INTERVAL_SECONDS", reconcile_job),
    "sync": Job("sync", "SYNC_INTERVAL_SECONDS", sync_job),
    "erase": Job("erase", "ERASURE_INTERVAL_SECONDS", erase_job),
}
