"""Event subscriptions: a receiver's URL, the kinds it wants and the secret we sign with; made, paused, removed.

Every change drops this process's copy of the subscribed kinds (``events.forget_kinds``), so recording here
follows at once; other processes follow within ``events.KINDS_MAX_AGE`` seconds.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select

from plugin.db import DbSession
from plugin.errors import InvalidInput, NotFound, Refused
from plugin.event_models import EventDelivery, EventSubscription
from plugin.services import events
from webhooks.signature import SECRET_PREFIX

MAX_URL = 2048
MAX_DESCRIPTION = 255
MAX_SUBSCRIPTIONS = 100  # each one is a fan-out target of every event: a bound, not a quota
SECRET_BYTES = 32
_URL_CHARACTERS = re.compile(r"[!-~]+")  # printable ASCII, no spaces or control characters


@dataclass(frozen=True, slots=True)
class Created:
    """A new subscription and its secret, which is shown this once."""

    subscription: EventSubscription
    secret: str


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def check_url(value: Any) -> str:
    """An absolute http(s) URL with a host, no credentials, no fragment; InvalidInput naming ``url`` otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("url", "a receiver URL (http:// or https://) is required")
    url = value.strip()
    if len(url) > MAX_URL:
        raise InvalidInput("url", f"longer than {MAX_URL} characters")
    if not _URL_CHARACTERS.fullmatch(url):
        raise InvalidInput("url", "holds spaces, control or non-ASCII characters (percent-encode them)")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("url", "must start with http:// or https://")
    try:
        port = parts.port  # ValueError for a port that is not a number in range
    except ValueError:
        raise InvalidInput("url", "has a port that is not a number from 1 to 65535") from None
    if not parts.hostname or port == 0:
        raise InvalidInput("url", "names no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url", "must not hold a user name or password (receivers verify the signature)")
    if parts.fragment or url.endswith("#"):
        raise InvalidInput("url", "must not hold a fragment (#...)")
    return url


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
