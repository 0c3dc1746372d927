"""Slowing down key guessing without ever keeping a key's owner out.

A wrong key (unknown, revoked, or not shaped like a key) is a failed authentication, counted per fixed time
window under the client's address and, when it is shaped like a key, under the key prefix it names (a guesser
spreading over many addresses still meets a limit). The counts are in the database, so every process and
instance shares them. Past a limit, wrong keys are answered 429 with ``Retry-After`` (the admin sign-in: a
page saying when to come back) and cost one read, no write and no log line; nobody sleeps in a worker.

A live key is always let in, whatever its address or prefix did: otherwise anyone could lock the admins out
by failing on purpose, from behind the same proxy or with the prefix an audit line shows. That is safe because
keys carry 256 random bits, so guessing one is hopeless anyway; the limits keep a guesser cheap and visible.
A request with no key at all guesses nothing: it is a plain 401, never counted. A success clears its own
address's count (an admin's typos), never a prefix's (the owner signing in does not reset a guesser).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from plugin.db import DbSession
from plugin.models import ApiKey, AuthFailure
from plugin.services.admin.api_keys import check_key, prefix_of

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CLIENT_LENGTH = 64
PREFIX_COUNTER = "key:"  # a key prefix's count; no address starts so (IPv4 and IPv6 are digits, hex and colons)


@dataclass(frozen=True, slots=True)
class Limits:
    """``failures`` failed attempts per counter within one window of ``window`` are allowed."""

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
    """The counter of a client's address: as the server saw it (or as the trusted proxies said, ProxyFix)."""
    return (address or "unknown")[:MAX_CLIENT_LENGTH]


def counters_of(address: str | None, key: str) -> list[str]:
    """What a wrong ``key`` from ``address`` counts against: the address first, then the prefix it names."""
    prefix = prefix_of(key)
    return [client_of(address), *([PREFIX_COUNTER + prefix] if prefix else [])]


@dataclass(frozen=True, slots=True)
class Standing:
    """The highest failure count among a request's counters this window, and the seconds to wait (None: under
    every limit)."""

    failures: int
    wait: int | None


def _counts(session: DbSession, counters: Sequence[str], start: datetime) -> dict[str, int]:
    rows = session.execute(select(AuthFailure.client, AuthFailure.failures).where(
        AuthFailure.client.in_(counters), AuthFailure.window_start == start))
    return {client: int(failures or 0) for client, failures in rows}


def _wait(start: datetime, now: datetime, limits: Limits) -> int:
    return max(1, math.ceil((start + limits.window - now).total_seconds()))


def standing(session: DbSession, counters: Sequence[str], now: datetime, limits: Limits) -> Standing:
    """Where these counters stand now: one indexed read."""
    start = window_start(now, limits)
    failures = max(_counts(session, counters, start).values(), default=0)
    return Standing(failures, _wait(start, now, limits) if failures >= limits.failures else None)


def record_failure(session: DbSession, counters: Sequence[str], now: datetime, limits: Limits,
                   what: str) -> Standing:
    """Count one failure on each counter (one atomic upsert each, safe between processes) and log it with the
    address (``counters[0]``), never the key nor its prefix."""
    start = window_start(now, limits)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for counter in counters:
        statement = dialect.insert(AuthFailure).values(client=counter, window_start=start, failures=1)
        session.execute(statement.on_conflict_do_update(
            index_elements=[AuthFailure.client, AuthFailure.window_start],
            set_={"failures": AuthFailure.failures + 1}))
    # Rows of past windows say nothing any more: one indexed DELETE keeps the table to the current window.
    session.execute(delete(AuthFailure).where(AuthFailure.window_start < start))
    counts = _counts(session, counters, start)
    client = counters[0]
    log.warning("authentication failed: %s, client %s, %d of %d failures allowed per %d s", what, client,
                counts.get(client, 0), limits.failures, limits.window.total_seconds())
    failures = max(counts.values(), default=0)
    if failures < limits.failures:
        return Standing(failures, None)
    wait = _wait(start, now, limits)
    if counts.get(client, 0) >= limits.failures:
        log.warning("client %s is refused for %d s after %d failed authentications", client, wait, counts[client])
    else:
        log.warning("wrong keys with the prefix client %s just tried are refused for %d s after %d failed "
                    "authentications with that prefix", client, wait, failures)
    return Standing(failures, wait)


def record_success(session: DbSession, client: str, now: datetime, limits: Limits) -> None:
    """A success clears its address's count, no other; nothing is written when there was none."""
    start = window_start(now, limits)
    if _counts(session, [client], start):
        session.execute(delete(AuthFailure).where(AuthFailure.client == client, AuthFailure.window_start == start))


@dataclass(frozen=True, slots=True)
class Checked:
    """What checking a presented key gave: the live key (None when refused); when a limit is reached, the
    seconds to wait; whether it was reached before this request (this wrong key was not counted)."""

    key: ApiKey | None
    wait: int | None = None
    refused_before: bool = False


def check(session: DbSession, address: str | None, key: str | None, now: datetime, limits: Limits,
          what: str) -> Checked:
    """Check a presented key, committing what it counts: a live key gets in and clears its address's count;
    no key is refused without counting; a wrong key is counted, or refused uncounted past a limit."""
    if not key:
        return Checked(None)
    row = check_key(session, key, now)
    counters = counters_of(address, key)
    if row is not None:
        record_success(session, counters[0], now, limits)
        session.commit()
        return Checked(row)
    before = standing(session, counters, now, limits)
    if before.wait is not None:
        session.rollback()
        return Checked(None, before.wait, refused_before=True)
    after = record_failure(session, counters, now, limits, what)
    session.commit()
    return Checked(None, after.wait)
