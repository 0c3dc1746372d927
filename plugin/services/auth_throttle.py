"""Slowing down key guessing: failed authentications counted per client address and time window, in the
database (so every process and instance shares the limit); past the limit a client waits for the window's end.

The admin API answers such a client 429 with ``Retry-After``, the admin sign-in a page saying when to come
back; neither sleeps in a worker. A blocked client's keys are not even checked, so a blocked guesser learns
nothing. A success clears only its own client's count.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from plugin.db import DbSession
from plugin.models import ApiKey, AuthFailure
from plugin.services.api_keys import check_key

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CLIENT_LENGTH = 64


@dataclass(frozen=True, slots=True)
class Limits:
    """``failures`` failed attempts per client within one window of ``window`` are allowed."""

    failures: int
    window: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """The limits of the ``AUTH_FAILURE_*`` settings."""
        return cls(int(config["AUTH_FAILURE_LIMIT"]), timedelta(seconds=int(config["AUTH_FAILURE_WINDOW_SECONDS"])))


def window_start(now: datetime, limits: Limits) -> datetime:
    """The start of the fixed window ``now`` falls in (windows are aligned on the epoch, the same everywhere)."""
    seconds = limits.window.total_seconds()
    return EPOCH + timedelta(seconds=math.floor((now - EPOCH).total_seconds() / seconds) * seconds)


def client_of(address: str | None) -> str:
    """The key a client is counted under: its address as the server saw it."""
    return (address or "unknown")[:MAX_CLIENT_LENGTH]


@dataclass(frozen=True, slots=True)
class Standing:
    """A client's failures in the current window, and the seconds it must wait (None: it may try)."""

    failures: int
    wait: int | None


def _failures(session: DbSession, client: str, start: datetime) -> int:
    count = session.scalar(select(AuthFailure.failures).where(AuthFailure.client == client,
                                                              AuthFailure.window_start == start))
    return int(count or 0)


def _wait(start: datetime, now: datetime, limits: Limits) -> int:
    return max(1, math.ceil((start + limits.window - now).total_seconds()))


def standing(session: DbSession, client: str, now: datetime, limits: Limits) -> Standing:
    """Where ``client`` stands now: one indexed read, before its key is even looked at."""
    start = window_start(now, limits)
    failures = _failures(session, client, start)
    return Standing(failures, _wait(start, now, limits) if failures >= limits.failures else None)


def record_failure(session: DbSession, client: str, now: datetime, limits: Limits, what: str) -> Standing:
    """Count one failure of ``client`` (one atomic upsert, safe between processes) and log it, never the key."""
    start = window_start(now, limits)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(AuthFailure).values(client=client, window_start=start, failures=1)
    session.execute(statement.on_conflict_do_update(
        index_elements=[AuthFailure.client, AuthFailure.window_start],
        set_={"failures": AuthFailure.failures + 1}))
    # Rows of past windows say nothing any more: one indexed DELETE keeps the table to the current window.
    session.execute(delete(AuthFailure).where(AuthFailure.window_start < start))
    failures = _failures(session, client, start)
    log.warning("authentication failed: %s, client %s, %d of %d failures allowed per %d s", what, client,
                failures, limits.failures, limits.window.total_seconds())
    if failures < limits.failures:
        return Standing(failures, None)
    wait = _wait(start, now, limits)
    log.warning("client %s is refused for %d s after %d failed authentications", client, wait, failures)
    return Standing(failures, wait)


def record_success(session: DbSession, client: str, now: datetime, limits: Limits, before: Standing) -> None:
    """A success clears this client's count, and no other client's; nothing is written when there was none."""
    if before.failures:
        session.execute(delete(AuthFailure).where(AuthFailure.client == client,
                                                  AuthFailure.window_start == window_start(now, limits)))


@dataclass(frozen=True, slots=True)
class Checked:
    """What checking a presented key gave: the live key (None when refused); when the client has failed too
    often, the seconds to wait; whether the key was looked at (not when the client was blocked already)."""

    key: ApiKey | None
    wait: int | None = None
    looked_at: bool = True


def check(session: DbSession, address: str | None, key: str | None, now: datetime, limits: Limits,
          what: str) -> Checked:
    """Check a presented key under the client's limit, committing what it counts: a blocked client's key is
    not looked at, a failure is counted (and logged as ``what``), a success clears the client's count."""
    client = client_of(address)
    before = standing(session, client, now, limits)
    if before.wait is not None:
        session.rollback()
        return Checked(None, before.wait, looked_at=False)
    row = check_key(session, key, now)
    if row is None:
        session.rollback()
        after = record_failure(session, client, now, limits, what)
        session.commit()
        return Checked(None, after.wait)
    record_success(session, client, now, limits, before)
    session.commit()
    return Checked(row)
