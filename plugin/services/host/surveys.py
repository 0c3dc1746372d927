"""Surveys known to the sidecar: registered by hand or synced from the host."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from adapters.urls import BadUrl, check_url
from plugin.db import DbSession
from plugin.errors import InvalidInput
from plugin.i18n import LANGUAGES, shipped
from plugin.models import Survey

SURVEY_TYPES = ("link", "app")
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*")


def list_surveys(session: DbSession) -> list[Survey]:
    """Every known survey, by name."""
    return list(session.scalars(select(Survey).order_by(Survey.name, Survey.id)))


def check_public_url(url: Any) -> str:
    """A survey's public URL, where respondents are redirected: the one URL rule of ``adapters.urls``."""
    if not isinstance(url, str):
        raise InvalidInput("publicUrl", "a URL string is required")
    try:
        return check_url(url)
    except BadUrl as exc:
        raise InvalidInput("publicUrl", str(exc)) from exc


def check_language(value: Any, shipped_only: bool = False) -> str | None:
    """A survey's language: null, or a language tag such as ``de`` or ``pt-BR`` (at most 35 characters); with
    ``shipped_only`` (set by hand), a tag of a shipped language (``de``, ``de-AT``), the only ones a page speaks."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 35 or not _LANGUAGE_TAG.fullmatch(value):
        raise InvalidInput("language", "a language tag such as en, de or pt-BR, or null")
    if shipped_only and shipped(value) is None:
        raise InvalidInput("language", f"{value!r} does not ship: one of {', '.join(LANGUAGES)} (or a tag of one, "
                                       "such as de-AT), or null")
    return value


def save_survey(session: DbSession, survey_id: str, body: Mapping[str, Any], now: datetime,
                hidden_field: str, source: str | None = None) -> Survey:
    """Create or update a survey from ``{name, publicUrl, type?, status?, hiddenFieldIds?, singleUse?, language?}``.

    ``source`` is given by a sync or install; an edit by hand (None) keeps a synced survey the host's, so the
    next sync can still find it gone and ``host check`` still checks it, and makes a new survey ``manual``."""
    if not survey_id or len(survey_id) > 255 or not survey_id.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput("surveyId", "letters, digits, '-' and '_' only, at most 255")
    row = session.get(Survey, survey_id)
    name = body.get("name", row.name if row else survey_id)
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise InvalidInput("name", "a non-empty string of at most 255 characters")
    url = check_public_url(body.get("publicUrl", row.public_url if row else None))
    kind = body.get("type", row.type if row else "link")
    if kind not in SURVEY_TYPES:
        raise InvalidInput("type", "must be link or app")
    fields = body.get("hiddenFieldIds", row.hidden_field_ids if row else [hidden_field])
    if not isinstance(fields, list) or len(fields) > 100 or not all(isinstance(f, str) and 0 < len(f) <= 255
                                                                    for f in fields):
        raise InvalidInput("hiddenFieldIds", "a list of at most 100 non-empty strings")
    single_use = body.get("singleUse", row.single_use if row else False)
    if not isinstance(single_use, bool):
        raise InvalidInput("singleUse", "true or false")
    status = body.get("status", row.status if row else "inProgress")
    if not isinstance(status, str) or not 0 < len(status) <= 32:
        raise InvalidInput("status", "a string of at most 32 characters")
    # a language given by hand (no source) must ship; the host's is kept as the host names it (the pages fall back)
    language = check_language(body.get("language", row.language if row else None),
                              shipped_only="language" in body and source in (None, "manual"))
    if row is None:
        row = Survey(id=survey_id, created_at=now)
        session.add(row)
    row.name, row.public_url, row.type, row.status = name.strip(), url, kind, status
    row.hidden_field_ids, row.single_use, row.updated_at = list(fields), single_use, now
    row.source = source or row.source or "manual"
    row.language = language
    session.flush()
    return row


def warnings_for(survey: Survey, hidden_field: str) -> list[str]:
    """What stops personal links from attributing responses of this survey, said as what to do."""
    found = []
    if survey.type != "link":
        found.append("this is not a link survey: personal links only work with link surveys")
    if hidden_field not in (survey.hidden_field_ids or []):
        found.append(f"the survey lacks the hidden field {hidden_field!r}: in the survey editor, open "
                     f"Settings > Hidden fields, turn them on and add {hidden_field!r}")
    if survey.anonymous and survey.single_use:
        found.append("single-use links let the host's admins tie responses to links: turn single-use off for an "
                     "anonymous survey (docs/anonymity.md)")
    return found


def as_json(survey: Survey) -> dict[str, Any]:
    """A survey as the admin API shows it."""
    return {"id": survey.id, "name": survey.name, "publicUrl": survey.public_url, "type": survey.type,
            "status": survey.status, "hiddenFieldIds": survey.hidden_field_ids, "singleUse": survey.single_use,
            "source": survey.source, "language": survey.language, "anonymous": bool(survey.anonymous),
            "anonymousSince": survey.anonymous_since.date().isoformat() if survey.anonymous_since else None}
