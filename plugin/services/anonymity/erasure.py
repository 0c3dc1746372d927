"""Overwriting the tickets of anonymous surveys' responses on the host, until each one succeeds.

The host merges the data it is sent into the response's stored data (docs/anonymity.md), so the ticket's key is
given a fixed placeholder. A row of ``host_erasures`` is deleted once its response is overwritten (or is gone
from the host); a failure waits ``backoff(attempts)`` and is tried again, for ever: a refusal (a key without
write access) is shown on the admin page until the key is fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from adapters.base import AdapterError
from plugin.clock import backoff
from plugin.db import DbSession
from plugin.models import HostErasure
from plugin.services.responses.anonymous import tally
from plugin.tickets import PLACEHOLDER

log = logging.getLogger(__name__)


def erasing_host(host: Any) -> Callable[[str, dict[str, Any]], None] | None:
    """The host's call that overwrites response data, or None when there is no host or it cannot."""
    update_data = getattr(host, "update_response_data", None)
    return update_data if callable(update_data) else None


def erase_pending(session: DbSession, host: Any, now: datetime, hidden_field: str,
                  limit: int = 100) -> dict[str, int]:
    """Overwrite the ticket of every response whose erasure is due, oldest due first; the counts: erased, gone
    (no longer on the host), failed (tried again later), waiting (every erasure still to do, failed ones too)."""
    counts = {"erased": 0, "gone": 0, "failed": 0, "waiting": 0}
    update_data = erasing_host(host)
    due = select(HostErasure.response_id, HostErasure.survey_id, HostErasure.attempts).where(
        HostErasure.next_attempt_at <= now).order_by(HostErasure.next_attempt_at).limit(limit)
    rows = session.execute(due).all() if update_data is not None else []
    session.commit()
    for response_id, survey_id, attempts in rows:
        assert update_data is not None
        try:
            update_data(response_id, {hidden_field: PLACEHOLDER})
        except AdapterError as exc:
            if exc.status == 404:  # deleted on the host: nothing left to overwrite
                _done(session, response_id, survey_id, erased=False)
                counts["gone"] += 1
                continue
            reason = exc.message.replace(response_id, "a response")  # the page never names a response
            session.execute(update(HostErasure).where(HostErasure.response_id == response_id).values(
                attempts=attempts + 1, next_attempt_at=now + backoff(attempts + 1), last_status=exc.status,
                last_error=reason[:2000]))
            session.commit()
            log.warning("could not overwrite a ticket on the host (attempt %d): %s", attempts + 1, reason)
            counts["failed"] += 1
            continue
        _done(session, response_id, survey_id, erased=True)
        counts["erased"] += 1
    counts["waiting"] = int(session.scalar(select(func.count()).select_from(HostErasure)) or 0)
    session.commit()
    return counts


def _done(session: DbSession, response_id: str, survey_id: str, *, erased: bool) -> None:
    session.execute(delete(HostErasure).where(HostErasure.response_id == response_id))
    if erased:
        tally(session, survey_id, "erased")
    session.commit()
