"""Readiness: the database answers and takes a write, checked at most once a second per process.

A database that answers reads but refuses writes (a full disk, a read-only standby after a failover, a user
without the privilege) once left ``/readyz`` at 200 while every open and webhook failed. So the check writes: one
upsert of the single row of ``readiness_heartbeat`` (when, and which process), in a transaction of its own that
waits at most ``WAIT_MS`` for locks. A write kept waiting by another writer (a long import holding SQLite's lock)
is ``busy``, still ready: reads and clicks go on. The answer is kept ``CACHE_SECONDS``, so a storm of probes costs
one write a second; a change of state is logged once (not ready, with the database's words; ready again).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import UTCDateTime, change_busy_timeout, conflicts, db
from plugin.db.write_turn import sqlite_write_turn

log = logging.getLogger(__name__)
KEY = "personal_links_readiness"
CACHE_SECONDS = 1.0
WAIT_MS = 1000
REASONS = {
    "unreachable": "the database does not answer",
    "refuses-writes": "the database refuses writes (a full disk, a read-only database or user)",
}
# Waiting for a lock past the limit: SQLite's busy, PostgreSQL's lock_timeout (55P03) and statement_timeout (57014).
_BUSY = ("database is locked", "database is busy", "55P03", "57014")


class Heartbeat(db.Model):  # type: ignore[name-defined,misc]
    """The one row every readiness check writes: when it last did, and which process."""

    __tablename__ = "readiness_heartbeat"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    writer: Mapped[str] = mapped_column(String(255))


@dataclass(frozen=True, slots=True)
class Readiness:
    """What a check found: ``database`` is ok, busy (ready), unreachable or refuses-writes (not ready)."""

    database: str
    detail: str = ""  # the database's own words, for the log only (they may name files and hosts)

    @property
    def ready(self) -> bool:
        """Whether a load balancer should send traffic here."""
        return self.database in ("ok", "busy")


def _busy(exc: SQLAlchemyError) -> bool:
    orig = getattr(exc, "orig", None)
    words = f"{getattr(orig, 'sqlstate', '') or ''} {orig or exc}"
    return isinstance(orig, TimeoutError) or any(sign in words for sign in _BUSY)


def _words(exc: SQLAlchemyError) -> str:
    return f"{type(exc).__name__}: {str(getattr(exc, 'orig', None) or exc).splitlines()[0][:300]}"


def _upsert(dialect: str) -> Any:
    statement = conflicts.insert(dialect, Heartbeat).values(id=1)
    return statement.on_conflict_do_update(index_elements=["id"], set_={"at": statement.excluded.at,
                                                                       "writer": statement.excluded.writer})


def write_heartbeat(engine: Engine, now: datetime) -> Readiness:
    """Upsert the heartbeat in a transaction of its own, its waits bounded by ``WAIT_MS``; what that found."""
    dialect = engine.dialect.name
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        return Readiness("unreachable", _words(exc))
    try:
        with sqlite_write_turn(dialect, WAIT_MS / 1000, engine.url.database), connection.begin():
            if dialect == "postgresql":
                connection.exec_driver_sql(f"SELECT set_config('lock_timeout', '{WAIT_MS}', true), "
                                           f"set_config('statement_timeout', '{WAIT_MS}', true)")
            else:
                change_busy_timeout(connection.connection, WAIT_MS)
            connection.execute(_upsert(dialect), {"at": now, "writer": f"{socket.gethostname()}:{os.getpid()}"})
    except SQLAlchemyError as exc:
        return Readiness("busy" if _busy(exc) else "refuses-writes", _words(exc))
    finally:
        connection.close()
    return Readiness("ok")


class ReadinessCheck:
    """One app's check in this process: the last answer, kept ``CACHE_SECONDS``; logs each change of state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: Readiness | None = None
        self._checked_at = float("-inf")

    def check(self, engine: Engine, now: datetime) -> Readiness:
        """The cached answer, or a fresh write when it is older than ``CACHE_SECONDS`` (one probe writes, those
        arriving meanwhile wait for its answer)."""
        with self._lock:
            if self._last is not None and time.monotonic() - self._checked_at < CACHE_SECONDS:
                return self._last
            found = write_heartbeat(engine, now)
            if not found.ready and (self._last is None or self._last.ready):
                log.error("not ready: %s: %s", REASONS[found.database], found.detail)
            elif found.ready and self._last is not None and not self._last.ready:
                log.warning("ready again: the database takes writes")
            self._last, self._checked_at = found, time.monotonic()
            return found
