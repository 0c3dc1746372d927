"""The link-state rule, in one home: a link's state at a moment, in Python and in SQL, built of named predicates.

The order is the rule: a revoked link is revoked, then one with no use left is used, then one past its expiry is
expired, then one before its validFrom is pending; any other is live. Both forms are written here from the same
predicates, and tests/plugin/test_link_state_rule.py holds them to agreeing, boundary instants included, on SQLite
and PostgreSQL. Whoever needs part of the rule (issuing, renewing, the attribution, reconcile) asks a predicate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, literal, or_
from sqlalchemy.sql import ColumnElement

from plugin.db import UTCDateTime
from plugin.models import Link

STATES = ("live", "pending", "expired", "used", "revoked")


def has_use_left(use_count: int, max_uses: int) -> bool:
    """Whether the link may still be used: fewer uses counted than it allows."""
    return use_count < max_uses


def expired_at(expires_at: datetime | None, at: datetime) -> bool:
    """Whether the link has expired at ``at``: from its expiry's very instant on (None: it never expires)."""
    return expires_at is not None and at >= expires_at


def open_at(expires_at: datetime | None, at: datetime) -> bool:
    """Whether the link has not expired yet at ``at`` (the opposite of ``expired_at``)."""
    return not expired_at(expires_at, at)


def not_yet_valid(valid_from: datetime | None, at: datetime) -> bool:
    """Whether ``at`` is before the link's validFrom (None: valid from its making); valid from that very instant."""
    return valid_from is not None and at < valid_from


def state_of(revoked_at: datetime | None, use_count: int, max_uses: int, expires_at: datetime | None,
             valid_from: datetime | None, now: datetime) -> str:
    """A link's state at ``now``: revoked, used, expired, pending (not yet valid) or live."""
    if revoked_at is not None:
        return "revoked"
    if not has_use_left(use_count, max_uses):
        return "used"
    if expired_at(expires_at, now):
        return "expired"
    if not_yet_valid(valid_from, now):
        return "pending"
    return "live"


# The SQL forms, over the links table. ``at`` is a moment as SQL takes it: a datetime (bound with the column's
# type) or an expression such as ``literal(now, UTCDateTime)``.

def has_use_left_sql() -> ColumnElement[bool]:
    """``has_use_left`` as SQL; negated (``~``) it reads ``use_count >= max_uses``."""
    return Link.use_count < Link.max_uses


def expired_at_sql(at: Any) -> ColumnElement[bool]:
    """``expired_at`` as SQL."""
    return and_(Link.expires_at.is_not(None), Link.expires_at <= at)


def open_at_sql(at: Any) -> ColumnElement[bool]:
    """``open_at`` as SQL, written as a test of the column (not ``NOT expired``) so an index on it can serve."""
    return or_(Link.expires_at.is_(None), Link.expires_at > at)


def not_yet_valid_sql(at: Any) -> ColumnElement[bool]:
    """``not_yet_valid`` as SQL."""
    return and_(Link.valid_from.is_not(None), Link.valid_from > at)


def state_expression(now: datetime) -> Any:
    """The same rule as ``state_of``, as SQL, for filtering and counting."""
    at = literal(now, UTCDateTime)
    return case(
        (Link.revoked_at.is_not(None), "revoked"),
        (~has_use_left_sql(), "used"),
        (expired_at_sql(at), "expired"),
        (not_yet_valid_sql(at), "pending"),
        else_="live",
    )
