"""Event subscriptions: a receiver's URL, the kinds it wants and the secret we sign with; made, paused, removed.

Every change drops this process's copy of the subscribed kinds (``events.forget_kinds``), so recording here
follows at once; other processes follow within ``events.KINDS_MAX_AGE`` seconds.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from adapters.urls import BadUrl
from adapters.urls import check_url as check_url_rule
from plugin.db import DbSession
from plugin.errors import InvalidInput, NotFound, Refused
from plugin.models import EventDelivery, EventSubscription
from plugin.services.events import events
from webhooks.signature import SECRET_PREFIX

MAX_DESCRIPTION = 255
MAX_SUBSCRIPTIONS = 100  # each one is a fan-out target of every event: a bound, not a quota
SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class Created:
    """A new subscription and its secret, which is shown this once."""

    subscription: EventSubscription
    secret: str


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def check_url(value: Any) -> str:
    """A receiver URL by the one URL rule of ``adapters.urls``; InvalidInput naming ``url`` otherwise."""
    if not isinstance(value, str) or not value:
        raise InvalidInput("url", "a receiver URL (http:// or https://) is required")
    try:
        return check_url_rule(value)
    except BadUrl as exc:
        raise InvalidInput("url", str(exc)) from exc


def check_kinds(value: Any) -> list[str]:
    """A non-empty list of known event kinds, without repeats, in the order of ``events.KINDS``."""
    if not isinstance(value, list) or not value:
        raise InvalidInput("events", f"a non-empty list of event kinds is required: {', '.join(events.KINDS)}")
    unknown = [item for item in value if not isinstance(item, str) or item not in events.KINDS]
    if unknown:
        shown = ", ".join(repr(item)[:40] for item in unknown[:3])
        raise InvalidInput("events", f"unknown event kind {shown}; known: {', '.join(events.KINDS)}")
    return [kind for kind in events.KINDS if kind in value]


def _description(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput("description", "must be text")
    if len(value) > MAX_DESCRIPTION:
        raise InvalidInput("description", f"longer than {MAX_DESCRIPTION} characters")
    return value.strip() or None


def create_subscription(session: DbSession, body: Mapping[str, Any], now: datetime) -> Created:
    """A new active subscription from ``{url, events, description?}``; the caller commits and shows the secret."""
    unknown = sorted(set(body) - {"url", "events", "description"})
    if unknown:
        raise InvalidInput(str(unknown[0])[:64], "unknown field; known: url, events, description")
    url, kinds, description = check_url(body.get("url")), check_kinds(body.get("events")), \
        _description(body.get("description"))
    if (session.scalar(select(func.count()).select_from(EventSubscription)) or 0) >= MAX_SUBSCRIPTIONS:
        raise Refused("url", "Too many subscriptions", f"there are {MAX_SUBSCRIPTIONS} subscriptions already: "
                                                       f"delete one first")
    secret = new_secret()
    row = EventSubscription(url=url, kinds=kinds, secret=secret, description=description, status="active",
                            created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    events.forget_kinds()
    return Created(row, secret)


def list_subscriptions(session: DbSession) -> list[EventSubscription]:
    """Every subscription, oldest first."""
    return list(session.scalars(select(EventSubscription).order_by(EventSubscription.id)))


def get_subscription(session: DbSession, subscription_id: int) -> EventSubscription:
    """The subscription, or NotFound naming ``subscription``."""
    row = session.get(EventSubscription, subscription_id)
    if row is None:
        raise NotFound("subscription", f"subscription {subscription_id} not found")
    return row


def set_paused(session: DbSession, subscription_id: int, paused: bool, now: datetime) -> EventSubscription:
    """Pause (no new events for it, its deliveries wait) or resume a subscription; the caller commits."""
    row = get_subscription(session, subscription_id)
    row.status = "paused" if paused else "active"
    row.updated_at = now
    session.flush()
    events.forget_kinds()
    return row


def delete_subscription(session: DbSession, subscription_id: int) -> None:
    """Remove a subscription and its deliveries (nothing more is sent to it); the caller commits."""
    row = get_subscription(session, subscription_id)
    session.execute(delete(EventDelivery).where(EventDelivery.subscription_id == row.id))
    session.delete(row)
    session.flush()
    events.forget_kinds()
