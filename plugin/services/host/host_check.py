"""One report of what works with this survey host and key, each line with what to do (``personal-links host
check``, ``GET /api/personal-links/v1/host/check``, the admin page ``/admin/host``).

Lines are ``ok``, ``warn`` (works, with a limit worth knowing), ``fail`` (something the configuration needs
is missing) or ``info`` (worth knowing, nothing in use depends on it); the report is ``ok`` when no line fails.
Without chosen surveys only those in use are checked: named by install, or with a link that still opens. A
workspace's drafts and finished surveys are listed as information, so the check is not red for good. Every
check reads; none changes the host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from sqlalchemy import exists, or_, select, true

from adapters.base import AdapterError, SurveyHost
from plugin.db import DbSession, db
from plugin.models import AuditEvent, Link, Survey
from plugin.services.host.adapters import configured
from plugin.services.host.install import INSTALLED, survey_problems
from plugin.services.links.links import state_expression
from webhooks.models import WebhookRegistration

RANK = {"read": 1, "write": 2, "manage": 3}
# What each permission lets the sidecar do on the host (read: GET, write: POST/PUT, manage: DELETE).
FEATURES = {
    "read": "sync surveys and contacts, reconcile responses",
    "write": "install (create the webhook), single-use ids on 5.x",
    "manage": "uninstall (delete the webhook), delete duplicate responses",
}
Probe = Callable[[str], str | None]
LISTED = 20  # surveys named on the "other surveys" line; more are counted


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One finding: what was checked, ``ok``/``warn``/``fail``, what was found, and what to do about it."""

    name: str
    status: str
    detail: str
    todo: str = ""

    def as_json(self) -> dict[str, str]:
        """The line as the API answers it."""
        return {"name": self.name, "status": self.status, "detail": self.detail, "todo": self.todo}


@dataclass(frozen=True, slots=True)
class HostReport:
    """Every line of a host check; ``ok`` when none failed."""

    lines: tuple[CheckLine, ...]

    @property
    def ok(self) -> bool:
        """True when nothing the configuration needs is missing."""
        return all(line.status != "fail" for line in self.lines)

    def as_json(self) -> dict[str, Any]:
        """The report as the API answers it."""
        return {"ok": self.ok, "lines": [line.as_json() for line in self.lines]}


def post_test_event(url: str, timeout: float = 5.0) -> str | None:
    """POST the host UI's ``{"event": "testEndpoint"}`` to ``url``; None on a 2xx, else what went wrong."""
    try:
        answer = requests.post(url, json={"event": "testEndpoint"}, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return f"no answer ({type(exc).__name__})"
    if 200 <= answer.status_code < 300:
        return None
    return f"answered {answer.status_code} (the host counts only a 2xx, and a redirect as a failure)"


def _internal(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def _host_line(host: SurveyHost) -> tuple[CheckLine, Any]:
    profile_of = getattr(host, "profile", None)
    if not callable(profile_of):  # a host without a profile: any authenticated call proves it answers
        host.webhooks()
        return CheckLine("host", "ok", f"{host.name} answers"), None
    profile = profile_of(refresh=True)
    where = getattr(host, "api_url", host.name)
    detail = (f"Formbricks {profile.version.line} (tested against {profile.version.tested}) at {where}, "
              f"workspace {profile.workspace_name or ''} ({profile.workspace_id})").replace(" ()", "")
    if profile.healthy is False:
        return CheckLine("host", "warn", detail + "; its health route reports the database or cache down",
                         "ask the host's operator to look at /api/v2/health"), profile
    return CheckLine("host", "ok", detail), profile


def _permission_line(profile: Any, config: Mapping[str, Any]) -> CheckLine:
    needed = "manage" if config.get("DELETE_DUPLICATES_ON_HOST") else "write"
    uses = "; ".join(f"{level}: {what}" for level, what in FEATURES.items())
    permission = getattr(profile, "permission", None)
    if permission not in RANK:
        return CheckLine("key permission", "warn",
                         "the host does not say this key's permission (it needs organisation read access "
                         f"to tell); {uses}",
                         f"make sure the key has at least '{needed}' on the workspace; a missing one shows as a 401")
    if RANK[permission] < RANK[needed]:
        return CheckLine("key permission", "fail", f"the key has '{permission}' on the workspace; {uses}",
                         f"give the key '{needed}' access on the workspace (organisation settings > API keys)")
    if permission != "manage":
        return CheckLine("key permission", "warn", f"the key has '{permission}'; {uses}",
                         "give it 'manage' so that uninstall can remove the webhook")
    return CheckLine("key permission", "ok", f"the key has 'manage': everything works ({uses})")


def _contacts_line(profile: Any, config: Mapping[str, Any], host: SurveyHost) -> CheckLine:
    source = str(config.get("CONTACT_SOURCE") or "csv")
    licensed = getattr(profile, "licensed", None)
    if licensed is None:
        return CheckLine("contacts", "warn", "the contacts route answered neither the contacts nor the licence 403",
                         "check the key's read permission")
    if licensed:
        more = "" if source == host.name else f"; contacts come from {source} as configured"
        return CheckLine("contacts", "ok",
                         f"Enterprise contacts available: CONTACT_SOURCE={host.name} can be used{more}")
    if source == host.name:
        return CheckLine("contacts", "fail", "no Enterprise 'Contacts' licence: the host answers 403 on contacts",
                         "set PERSONAL_LINKS_CONTACT_SOURCE=csv and PERSONAL_LINKS_CONTACTS_CSV (Community Edition)")
    return CheckLine("contacts", "ok",
                     f"no Enterprise licence (Community Edition): contacts come from {source}, as set")


def surveys_in_use(session: DbSession, host_name: str, now: datetime) -> tuple[list[str], list[Survey]]:
    """The host's surveys registered in the sidecar, split: the ids of those in use (named by install, or with a
    current link that still opens), and the others."""
    installed = exists().where(AuditEvent.action == INSTALLED, AuditEvent.survey_id == Survey.id)
    opening = exists().where(Link.survey_id == Survey.id, Link.is_current == true(),
                             state_expression(now).in_(("live", "pending")))
    rows = session.execute(select(Survey, or_(installed, opening)).where(
        Survey.source == host_name, Survey.status != "deleted").order_by(Survey.id)).all()
    return [survey.id for survey, used in rows if used], [survey for survey, used in rows if not used]


def _others_line(others: Sequence[Survey], hidden_field: str) -> CheckLine:
    """The surveys not in use, as information from the sidecar's copy (the host is not asked about them)."""
    more = f" and {len(others) - LISTED} more" if len(others) > LISTED else ""
    return CheckLine("other surveys", "info",
                     f"{len(others)} of the host's surveys are not in use (not installed, no link that still opens),"
                     f" so they are not checked: {', '.join(_said(survey, hidden_field) for survey in others[:LISTED])}"
                     f"{more}", "to use one, run personal-links install --survey ID: it checks the survey first")


def _said(survey: Survey, hidden_field: str) -> str:
    """A survey not in use and what would stop personal links on it, as last synced."""
    notes = [note for note, shown in ((f"{survey.type} survey", survey.type != "link"),
                                      (survey.status, survey.status != "inProgress"),
                                      (f"hidden field {hidden_field!r} missing",
                                       hidden_field not in (survey.hidden_field_ids or []))) if shown]
    return f"{survey.id} ({survey.name}: {', '.join(notes)})" if notes else f"{survey.id} ({survey.name})"


def _survey_lines(session: DbSession, host: SurveyHost, survey_ids: Sequence[str] | None,
                  hidden_field: str, now: datetime) -> list[CheckLine]:
    others: list[Survey] = []
    if survey_ids is None:
        survey_ids, others = surveys_in_use(session, host.name, now)
    info = [_others_line(others, hidden_field)] if others else []
    if not survey_ids and others:
        return [CheckLine("surveys", "warn", "no survey of this host is in use: none was named by install and none "
                          "has a link that still opens", "run personal-links install --survey ID"), *info]
    if not survey_ids:
        return [CheckLine("surveys", "warn", "no survey of this host is registered in the sidecar",
                          "run personal-links install --survey ID (or personal-links sync)")]
    lines = []
    for survey_id in survey_ids:
        name = f"survey {survey_id}"
        try:
            survey = host.survey(survey_id)
        except AdapterError as exc:
            lines.append(CheckLine(name, "fail", exc.message, "check the id, or remove the survey from the sidecar"))
            continue
        has_field = hidden_field in survey.hidden_field_ids
        detail = (f"{survey.name}: {survey.type} survey, {survey.status}, hidden field {hidden_field!r} "
                  f"{'present' if has_field else 'missing'}, single-use {'on' if survey.single_use else 'off'}")
        problems = survey_problems(survey, hidden_field)
        if problems:
            lines.append(CheckLine(name, "fail", detail, "; ".join(problems)))
        elif survey.status != "inProgress":
            lines.append(CheckLine(name, "warn", detail, "publish or resume it: respondents cannot answer until then"))
        else:
            lines.append(CheckLine(name, "ok", detail))
    return lines + info


def _webhook_lines(session: DbSession, host: SurveyHost, config: Mapping[str, Any], url: str,
                   events: Sequence[str]) -> list[CheckLine]:
    rows = list(session.scalars(select(WebhookRegistration).where(
        WebhookRegistration.host == host.name, WebhookRegistration.removed_at.is_(None))))
    on_host = {hook.id: hook for hook in host.webhooks()}
    ours = [on_host[row.host_webhook_id] for row in rows if row.host_webhook_id in on_host]
    if not ours:
        found = [hook.id for hook in on_host.values() if hook.url == url]
        extra = f"; the host has {', '.join(found)} at our URL, but its secret is not held" if found else ""
        return [CheckLine("webhook", "fail", f"no webhook of ours is registered on the host{extra}",
                          "run personal-links install")]
    hook = ours[0]
    wrong = []
    if hook.url != url:
        wrong.append(f"it posts to {hook.url}, not {url}")
    if set(hook.triggers) != set(events):
        wrong.append(f"its triggers are {', '.join(hook.triggers) or 'none'}, not {', '.join(events)}")
    if hook.survey_ids:
        wrong.append(f"it covers only the surveys {', '.join(hook.survey_ids)}")
    line = (CheckLine("webhook", "fail", f"webhook {hook.id}: " + "; ".join(wrong),
                      "run personal-links install: it replaces the webhook")
            if wrong else CheckLine("webhook", "ok", f"webhook {hook.id} at {url} for {', '.join(events)}"))
    held = any(row.secret for row in rows if row.host_webhook_id == hook.id) or bool(config.get("WEBHOOK_SECRETS"))
    secret = (CheckLine("webhook secret", "ok", "its secret is held (deliveries are verified)") if held else
              CheckLine("webhook secret", "fail", "its secret is not held: signed deliveries would be refused",
                        "run personal-links install (it replaces the webhook), or set PERSONAL_LINKS_WEBHOOK_SECRETS"))
    return [line, secret]


def _reach_line(url: str, probe: Probe) -> CheckLine:
    problem = probe(url)
    if problem is not None:
        return CheckLine("webhook URL", "fail", f"{url} from here: {problem}",
                         "check PERSONAL_LINKS_PUBLIC_URL, the proxy in front of the sidecar and its TLS "
                         "(a server of one single-threaded worker cannot answer itself: run personal-links host check)")
    if _internal(url):
        return CheckLine("webhook URL", "warn", f"{url} answers here, but it is a loopback or private address",
                         "Formbricks refuses such URLs unless it sets DANGEROUSLY_ALLOW_WEBHOOK_INTERNAL_URLS=1")
    return CheckLine("webhook URL", "ok", f"{url} answers the host's test event from where the sidecar stands "
                     "(the host itself must reach it too)")


def check_configured(app: Flask, declared: Mapping[str, Any], hidden_field: str,
                     survey_ids: Sequence[str] | None = None, *, now: datetime) -> HostReport:
    """The host check of the app's configured survey host (a configuration error is the report's one line)."""
    try:
        host = configured(app).survey_host
    except AdapterError as exc:
        return HostReport((CheckLine("configuration", "fail", exc.message, "fix the setting named"),))
    return check_host(db.session, host, app.config, declared, str(app.config["PUBLIC_URL"]), hidden_field,
                      survey_ids, now=now)


def check_host(session: DbSession, host: SurveyHost | None, config: Mapping[str, Any], declared: Mapping[str, Any],
               public_url: str, hidden_field: str, survey_ids: Sequence[str] | None = None,
               probe: Probe | None = None, *, now: datetime) -> HostReport:
    """Check host, key, licence, surveys (``survey_ids``, else those in use), webhook and its URL."""
    probe = probe or post_test_event
    if host is None:
        return HostReport((CheckLine("host", "fail", "no survey host is configured",
                                     "set PERSONAL_LINKS_SURVEY_HOST=formbricks and the PERSONAL_LINKS_FORMBRICKS_* "
                                     "settings"),))
    try:
        first, profile = _host_line(host)
    except AdapterError as exc:
        name = "key permission" if exc.status == 401 else "host"
        return HostReport((CheckLine(name, "fail", exc.message, "fix this first: nothing else can be checked"),))
    url = public_url.rstrip("/") + declared["webhooks"]["path"]
    lines = [first]
    try:
        if profile is not None:
            lines += [_permission_line(profile, config), _contacts_line(profile, config, host)]
        lines += _survey_lines(session, host, survey_ids, hidden_field, now)
        lines += _webhook_lines(session, host, config, url, tuple(declared["webhooks"]["events"]))
    except AdapterError as exc:
        lines.append(CheckLine("host", "fail", exc.message, "fix this, then check again"))
    lines.append(_reach_line(url, probe))
    return HostReport(tuple(lines))
