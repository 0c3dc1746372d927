"""What the outbox keeps of an anonymous survey's completion: days, never moments (docs/anonymity.md).

The event itself says when by its day (``plugin.services.responses.anonymous`` records it at UTC midnight with
``"anonymous": true``). The events job fans it out and sends it within seconds of the finish, so every time it
stores around that event (fanned out, made, attempted, delivered) would date the response as well as the host's
own times do: those are days too. A delivery the receiver refuses keeps the time of its next attempt, which its
backoff needs, until it is delivered or given up. Subscriptions are compared with such an event by their day, like
with like.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from plugin.clock import day_of
from plugin.db import DbSession
from plugin.models import EventDelivery, OutboxEvent

# the kinds that say when a contact opened or answered, or which response they gave
NAMES_A_RESPONSE = ("link.opened", "response.started", "response.completed", "response.duplicate")
DAY = timedelta(days=1)


def is_anonymous(data: Mapping[str, Any] | None) -> bool:
    """Whether an event's data marks it as an anonymous survey's (its times are days)."""
    return data is not None and data.get("anonymous") is True


def heard_by(subscribed_at: datetime, event_at: datetime, anonymous: bool) -> bool:
    """Whether a subscription made at ``subscribed_at`` hears an event: it existed when the event happened.

    An anonymous event's time is its day's midnight, so the subscription counts by its day too: one made at ten
    hears a completion at ten past, whose time says midnight (and may hear one finished earlier that day).
    """
    return (day_of(subscribed_at) if anonymous else subscribed_at) <= event_at


def stamp(now: datetime, anonymous: bool) -> datetime:
    """The time to store for something done ``now`` with an event: its day when the event is anonymous."""
    return day_of(now) if anonymous else now


def new_delivery(now: datetime, window: timedelta, anonymous: bool) -> dict[str, datetime]:
    """The times of a delivery made ``now``: due at once, retried for ``window``; an anonymous event's as days,
    its window running to the end of the day it would end in (never shorter)."""
    if not anonymous:
        return {"created_at": now, "next_attempt_at": now, "retry_until": now + window}
    end = now + window
    return {"created_at": day_of(now), "next_attempt_at": day_of(now),
            "retry_until": end if day_of(end) == end else day_of(end) + DAY}


def settled(values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The columns an anonymous event's delivery settles with: its attempt as a day, and once it is delivered or
    dead every time a day; a failed one keeps only the time of its next attempt."""
    day = day_of(now)
    values = {**values, "last_attempt_at": day}
    if values["status"] in ("delivered", "dead"):
        values["next_attempt_at"] = day
    if values.get("delivered_at") is not None:
        values["delivered_at"] = day
    return values


def forget_survey_events(session: DbSession, survey_id: str) -> int:
    """Delete the survey's events that name a response or an open, sent or not, with their deliveries (a survey
    switched to anonymous); how many went. Its admins' events (issued, revoked links) stay."""
    named = (OutboxEvent.survey_id == survey_id, OutboxEvent.kind.in_(NAMES_A_RESPONSE))
    connection = session.connection()
    connection.execute(delete(EventDelivery).where(EventDelivery.event_id.in_(select(OutboxEvent.id).where(*named))))
    return int(connection.execute(delete(OutboxEvent).where(*named)).rowcount or 0)
