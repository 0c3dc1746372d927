"""Time as a dependency: services take a clock so tests can stand at 23:59:59 and at 00:00:00 UTC."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time, aware and in UTC."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that tells the time it is set to, until moved."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.at = at

    def now(self) -> datetime:
        """The time the clock is set to."""
        return self.at

    def advance(self, **delta: float) -> None:
        """Move the clock forward by a timedelta given as keywords (``seconds=1``, ``days=2``)."""
        self.at += timedelta(**delta)


def iso(value: datetime | None) -> str | None:
    """The host's ISO-8601 spelling of a moment: UTC, milliseconds, ``Z`` (None stays None)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat truncates to milliseconds (as the host does) and pads the year; twice as fast as strftime, and
    # an export calls this for every time of every row
    return value.isoformat(timespec="milliseconds")[:23] + "Z"


def day_of(at: datetime) -> datetime:
    """The UTC midnight of a moment: the finest time an anonymous survey keeps."""
    return datetime.combine(at.astimezone(UTC).date(), time(0), tzinfo=UTC)


MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """The wait before the next retry after ``attempts`` failed ones: 1, 2, 4 ... minutes, at most 6 hours (the
    webhook inbox's retry job, and the erasure of anonymous tickets on the host)."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)
