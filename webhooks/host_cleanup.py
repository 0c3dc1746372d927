"""Deleting duplicate responses on the survey host, after the webhook was answered (it may be slow)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import update

from adapters.base import AdapterError, SurveyHost
from plugin.db import DbSession
from plugin.models import ResponseAttribution

log = logging.getLogger(__name__)


def deleting_host(host: SurveyHost | None) -> Any | None:
    """The configured survey host if it can delete responses; None, with a warning, otherwise."""
    if host is None:
        log.warning("DELETE_DUPLICATES_ON_HOST is on but SURVEY_HOST is empty: duplicates are kept on the host")
        return None
    if not callable(getattr(host, "delete_response", None)):
        log.warning("survey host %r cannot delete responses: duplicates are kept on the host", host.name)
        return None
    return host


def delete_duplicate(session: DbSession, host: Any, response_id: str, now: datetime) -> bool:
    """Delete one duplicate response on the host and record it; false (logged) when the host refused."""
    try:
        host.delete_response(response_id)
    except AdapterError as exc:
        log.warning("could not delete duplicate response %s on the host: %s", response_id, exc.message)
        return False
    session.execute(update(ResponseAttribution).where(
        ResponseAttribution.response_id == response_id, ResponseAttribution.status == "duplicate",
        ResponseAttribution.host_deleted_at.is_(None)).values(host_deleted_at=now))
    session.commit()
    return True

