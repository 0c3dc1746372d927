"""The reminder cadence and who is due for a reminder now: one query that every rule of "do not remind" joins.

``due`` is the one place that says who may be reminded: a non-respondent (``followup.non_respondents``: a live
current link, no finished response) whom the cadence allows, not in an open reminder batch. A reminder batch
runs it in the transaction that claims the contacts, so an answer committed before the claim leaves them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.sql import Select

from plugin.errors import InvalidInput
from plugin.models import Link
from plugin.services.followup import contacts_made, followup
from plugin.services.links.params import parse_bool

MAX_GAP_HOURS = 24 * 366
MAX_REMINDERS = 100


@dataclass(frozen=True, slots=True)
class Cadence:
    """How often a contact may be reminded: at least ``min_gap_hours`` after the last invitation or reminder,
    at most ``max_reminders`` reminders; ``stopped``: only those who started and did not finish."""

    min_gap_hours: int | None = None
    max_reminders: int | None = None
    stopped: bool = False

    @property
    def given(self) -> bool:
        """Whether a gap or a maximum was asked for (a plain non-respondents listing otherwise)."""
        return self.min_gap_hours is not None or self.max_reminders is not None

    def as_json(self) -> dict[str, Any]:
        """The cadence as the API writes it."""
        return {"minGapHours": self.min_gap_hours, "maxReminders": self.max_reminders, "stopped": self.stopped}


def _number(field: str, value: Any, high: int) -> int | None:
    """A whole number 0..high from a query string or a JSON number; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(field, "must be a whole number")
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 12:
            raise InvalidInput(field, f"{value[:40]!r} is not a whole number")
        value = int(text)
    if not 0 <= value <= high:
        raise InvalidInput(field, f"must be between 0 and {high}")
    return value


def _flag(field: str, value: Any) -> bool:
    """A yes/no from a query string (``params.parse_bool``) or a JSON boolean; absent is false."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return parse_bool(field, value)
    raise InvalidInput(field, "must be true or false")


def parse_cadence(values: Mapping[str, Any]) -> Cadence:
    """``minGapHours``, ``maxReminders`` and ``stopped`` from query parameters or a JSON body."""
    return Cadence(_number("minGapHours", values.get("minGapHours"), MAX_GAP_HOURS),
                   _number("maxReminders", values.get("maxReminders"), MAX_REMINDERS),
                   _flag("stopped", values.get("stopped")))


def due(survey_id: str, now: datetime, cadence: Cadence, segment_id: str | None = None, *,
        anonymous: bool = False) -> Select[Any]:
    """The non-respondents the cadence lets be reminded at ``now`` and no open batch holds, in contact order,
    with the columns of ``followup.NonRespondent`` (``anonymous``: the survey's mode, as ``non_respondents``
    takes it). Another rule (an opt-out) is one more ``where`` here."""
    query = followup.non_respondents(survey_id, now, stopped_only=cadence.stopped, segment_id=segment_id,
                                     anonymous=anonymous)
    query = query.where(~contacts_made.claimed(Link.survey_id, Link.contact_id))
    if cadence.max_reminders is not None:
        query = query.where(contacts_made.reminders_sent(Link.survey_id, Link.contact_id) < cadence.max_reminders)
    if cadence.min_gap_hours is not None:
        since = now - timedelta(hours=cadence.min_gap_hours)
        query = query.where(~contacts_made.contacted_since(Link.survey_id, Link.contact_id, since))
    return query
