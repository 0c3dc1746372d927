"""The jobs themselves: thin wrappers that read settings and call the service functions the CLI calls too.

Each takes the session, the time and the app's config, and returns the counts to record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from plugin import metrics
from plugin.db import DbSession
from plugin.jobs.lease import holder_name
from plugin.services.admin import idempotency
from plugin.services.admin.purge import purge
from plugin.services.anonymity.erasure import erase_pending
from plugin.services.events.delivery import Policy, drain, http_sender, pooled_http
from plugin.services.events.delivery_log import purge_events
from plugin.services.followup import reminder_batches
from plugin.services.host.adapters import configured
from plugin.services.host.reconcile import reconcile
from plugin.services.host.sync import sync
from plugin.services.responses.attribution import Intake
from plugin.state import state
from webhooks.inbox_apply import apply_pending

Counts = dict[str, int]
JobFunction = Callable[[DbSession, datetime, Mapping[str, Any]], Counts]


def purge_job(session: DbSession, now: datetime, config: Mapping[str, Any]) -> Counts:
    """Expired tokens, then old link rows, then old inbox deliveries and outbound events, each after its retention."""
    counts = purge(session, now, token_days=int(config["TOKEN_RETENTION_DAYS"]),
                   link_days=int(config["LINK_RETENTION_DAYS"]), inbox_days=int(config["INBOX_RETENTION_DAYS"]),
                   actor="scheduler")
    return {**counts, **purge_events(session, now, int(config["EVENTS_RETENTION_DAYS"]))}


def intake(config: Mapping[str, Any]) -> Intake:
    """What applying a response needs, as the webhook receiver builds it."""
    return Intake.from_settings(state().tokens, state().hidden_field, state().tickets, config)


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


def reminders_job(session: DbSession, now: datetime, config: Mapping[str, Any]) -> Counts:
    """Reminder batches not confirmed in time released (their contacts due again); old Idempotency-Keys forgotten."""
    counts = reminder_batches.release_expired(session, now)
    counts["idempotencyKeys"] = idempotency.purge(session, now)
    return counts


def event_policy(config: Mapping[str, Any]) -> Policy:
    """How the events job sends, from the settings. A run claims for four fifths of the interval, so that it
    has ended when the next one is due (an overlapping run would be skipped, with a warning each time); a
    lease outlasts the wait of a batch for a sender thread (two sends) and its own send (up to 4 timeouts)."""
    timeout = float(config["EVENTS_TIMEOUT_SECONDS"])
    interval = float(config["EVENTS_INTERVAL_SECONDS"])
    return Policy(timeout=timeout, retry_window=timedelta(hours=int(config["EVENTS_RETRY_HOURS"])),
                  lease=timedelta(seconds=max(60.0, 8 * timeout)), budget=max(interval * 0.8, 1.0),
                  senders=int(config["EVENTS_SENDERS"]), behind_after=timedelta(seconds=max(interval, 1.0)))


def events_job(session: DbSession, now: datetime, config: Mapping[str, Any]) -> Counts:
    """Outbound events to their subscriptions, signed, several at once; failed ones again after their backoff.
    Every process that runs jobs runs it each period (``shared``): the deliveries are shared out by lease."""
    policy = event_policy(config)
    with pooled_http(policy.senders) as http:
        return drain(session, state().clock, policy, f"{holder_name()}:{uuid.uuid4().hex[:8]}", http_sender(http))


@dataclass(frozen=True, slots=True)
class Job:
    """A scheduled job: its fixed id, the setting that gives its interval, and its function.

    ``keep_runs``: a job running every few seconds keeps only its newest run records, not one per run forever.
    ``shared``: every process runs it each period (no period lease), because the job shares its work out by
    leases of its own (the events job's deliveries); the others run once per period in the whole cluster.
    """

    name: str
    interval_setting: str
    function: JobFunction
    keep_runs: int | None = None
    shared: bool = False


JOBS: dict[str, Job] = {
    "purge": Job("purge", "PURGE_INTERVAL_SECONDS", purge_job),
    "retry": Job("retry", "RETRY_INTERVAL_SECONDS", retry_job),
    "reconcile": Job("reconcile", "RECONCILE_INTERVAL_SECONDS", reconcile_job),
    "sync": Job("sync", "SYNC_INTERVAL_SECONDS", sync_job),
    "reminders": Job("reminders", "REMINDER_RELEASE_INTERVAL_SECONDS", reminders_job),
    "events": Job("events", "EVENTS_INTERVAL_SECONDS", events_job, keep_runs=200, shared=True),
    "erase": Job("erase", "ERASURE_INTERVAL_SECONDS", erase_job),
}
