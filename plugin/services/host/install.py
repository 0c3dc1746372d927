"""Install and uninstall on the survey host, as ``manifest.json`` declares: key check, surveys, webhook.

Install is safe to run again: it finds its webhook (the stored registration, else the host's list by URL)
and creates none twice. The secret the host returns is stored for the webhook receiver and never printed,
logged or returned.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from adapters.base import AdapterError, SurveyHost
from adapters.base import Survey as HostSurvey
from adapters.urls import BadUrl, check_url
from plugin.db import DbSession
from plugin.errors import InvalidInput, Refused
from plugin.models import AuditEvent
from plugin.services.host.surveys import save_survey
from plugin.services.host.sync import survey_body
from plugin.services.links.links import audit
from webhooks.models import WebhookRegistration

log = logging.getLogger(__name__)
INSTALLED = "installed"  # the audit action naming a survey install checked: host check checks it from then on


@dataclass(frozen=True, slots=True)
class Installed:
    """What install found and did: the key's workspace, the surveys checked, the webhook (never its secret)."""

    workspace: str
    surveys: tuple[str, ...]
    webhook_id: str
    webhook_url: str
    events: tuple[str, ...]
    created: bool


def survey_problems(survey: HostSurvey, hidden_field: str) -> list[str]:
    """What stops personal links on this host survey, each said as what to do in the survey editor."""
    problems = []
    where = f"survey {survey.id} ({survey.name})"
    if survey.type != "link":
        problems.append(f"{where} is not a link survey (its type is {survey.type!r}): personal links need a link "
                        "survey; choose or create one")
    if hidden_field not in survey.hidden_field_ids:
        problems.append(f"{where} does not declare the hidden field {hidden_field!r}: in the survey editor open "
                        f"the survey > Settings > Hidden fields, turn hidden fields on and add `{hidden_field}`, "
                        "then publish and run install again")
    return problems


def check_key(host: SurveyHost) -> str:
    """The workspace the host's API key belongs to (AdapterError with what to do when the key is refused)."""
    whoami = getattr(host, "whoami", None)
    if callable(whoami):
        workspace = whoami()
        named = f"{workspace.name} ({workspace.id})" if getattr(workspace, "name", None) else str(workspace.id)
        version = getattr(host, "host_version", None)
        return f"{named} on Formbricks {version().line}" if callable(version) else named
    host.webhooks()  # a host without "who am I": any authenticated call proves the key
    return host.name


def webhook_url(public_url: str, manifest: Mapping[str, Any]) -> str:
    """Where the host posts to: the sidecar's public URL (checked by the one URL rule) and the manifest's path."""
    try:
        return check_url(public_url.rstrip("/") + manifest["webhooks"]["path"])
    except BadUrl as exc:
        raise InvalidInput("publicUrl", str(exc)) from exc


def _live(session: DbSession, host_name: str) -> list[WebhookRegistration]:
    return list(session.scalars(select(WebhookRegistration).where(
        WebhookRegistration.host == host_name, WebhookRegistration.removed_at.is_(None))
        .order_by(WebhookRegistration.id)))


def install(session: DbSession, host: SurveyHost, manifest: Mapping[str, Any], public_url: str,
            survey_ids: Sequence[str], hidden_field: str, now: datetime, *, actor: str = "cli") -> Installed:
    """Check the key and the chosen surveys, then make sure exactly one webhook of ours is registered.

    Runs in the caller's transaction (the caller commits); Refused lists every survey problem at once.
    """
    url = webhook_url(public_url, manifest)
    workspace = check_key(host)
    checked = [host.survey(survey_id) for survey_id in dict.fromkeys(survey_ids)]
    problems = [problem for survey in checked for problem in survey_problems(survey, hidden_field)]
    if problems:
        raise Refused("surveyId", "not ready for personal links", "; ".join(problems))
    for survey in checked:
        save_survey(session, survey.id, survey_body(survey), now, hidden_field, source=host.name)
        if session.scalar(select(AuditEvent.id).where(AuditEvent.action == INSTALLED,
                                                      AuditEvent.survey_id == survey.id).limit(1)) is None:
            audit(session, INSTALLED, actor, now, survey_id=survey.id)
    events = tuple(manifest["webhooks"]["events"])
    on_host = {hook.id: hook for hook in host.webhooks()}
    stale: list[str] = []
    for row in _live(session, host.name):
        hook = on_host.get(row.host_webhook_id)
        if row.url == url and hook is not None and set(hook.triggers) == set(events) and not hook.survey_ids:
            return Installed(workspace, tuple(s.id for s in checked), row.host_webhook_id, url, events, False)
        if hook is not None:  # ours but for another URL, other events or only some surveys: replaced below
            stale.append(hook.id)
        row.removed_at = now
    for hook in on_host.values():
        if hook.url == url and hook.id not in stale:  # ours, but its secret is lost (shown once): replaced
            log.info("replacing webhook %s at %s: its secret is not stored", hook.id, url)
            stale.append(hook.id)
    made = host.register_webhook(url, events)  # first the new one: a failure here leaves the old ones working
    if not made.secret:
        host.remove_webhook(made.id)  # a webhook whose deliveries can never verify is worse than none
        raise AdapterError(f"the host created webhook {made.id} without returning a secret: it is older than "
                           f"{manifest['minHostVersion']}, which signs webhooks; upgrade it")
    for hook_id in stale:
        host.remove_webhook(hook_id)
    session.add(WebhookRegistration(host=host.name, host_webhook_id=made.id, url=url, secret=made.secret,
                                    created_at=now))
    session.flush()
    return Installed(workspace, tuple(s.id for s in checked), made.id, url, events, True)


def uninstall(session: DbSession, host: SurveyHost, manifest: Mapping[str, Any], public_url: str,
              now: datetime) -> list[str]:
    """Remove the webhooks install made (stored ones, and ours found by URL); return their host ids."""
    url = webhook_url(public_url, manifest)
    removed = []
    for row in _live(session, host.name):
        host.remove_webhook(row.host_webhook_id)  # one already gone is not an error
        removed.append(row.host_webhook_id)
    session.execute(update(WebhookRegistration).where(WebhookRegistration.host == host.name,
                                                      WebhookRegistration.removed_at.is_(None))
                    .values(removed_at=now))
    for hook in host.webhooks():
        if hook.url == url and hook.id not in removed:
            host.remove_webhook(hook.id)
            removed.append(hook.id)
    return removed
