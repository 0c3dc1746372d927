"""Previews of the respondent pages for the Share page: sample moments and targets, read from nothing but the
survey row, so a preview never changes the database."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from plugin.errors import NotFound
from plugin.models import Survey
from plugin.services.links import link_state
from plugin.services.links.opening import with_hidden_field

# Every state a respondent can meet, in the order the Share page lists them: a link's, then a token's that is none.
STATES = (*link_state.STATES, "invalid")
LABELS = {"live": "live", "pending": "not yet valid", "expired": "expired", "used": "used", "revoked": "revoked",
          "invalid": "invalid"}
SAMPLE_TOKEN = "SAMPLE-TOKEN"  # stands for a contact's token in the live preview; no link has it


def check_state(state: str) -> str:
    """A state a preview exists for; NotFound otherwise."""
    if state not in STATES:
        raise NotFound("state", f"no preview of {state[:40]!r}: choose one of {', '.join(STATES)}")
    return state


def sample_moment(state: str, now: datetime) -> datetime | None:
    """The moment a sample link ended (expired: midnight UTC today) or opens (not yet valid: in a week)."""
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    if state == "expired":
        return midnight
    if state == "pending":
        return midnight + timedelta(days=7)
    return None


def sample_target(survey: Survey, hidden_field: str) -> str:
    """Where a live link of the survey sends the respondent: its URL with the token in the hidden field."""
    return with_hidden_field(survey.public_url, SAMPLE_TOKEN, hidden_field)
