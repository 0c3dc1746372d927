"""Opens written behind the click: a live link's open is queued in the server process and written in batches.

A click then reads one row and answers; its two writes (the link's counts, the audit row) wait at most
``OPEN_FLUSH_MS`` and go to the database in one transaction with every other open of that interval, from a
thread of the process, and at its exit (``atexit`` and gunicorn's ``worker_exit``). A link's state never
depends on its opens, so no answer changes; what changes is that the counts are that much later, and that a
process killed without a chance to exit (SIGKILL, a crash) loses the opens of its last interval. A write that
fails (the database down or locked) keeps its opens for the next one; a spell of failures is logged when it
starts and when a write works again (with the counts), never once per try. ``OPEN_FLUSH_MS=0`` writes each open
in its own request instead, as the tests and the CLI do.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from plugin.db import UTCDateTime
from plugin.db.prepared import Driver, Prepared
from plugin.db.write_turn import sqlite_write_turn
from plugin.models import AuditEvent, Link
from plugin.services.events import events

log = logging.getLogger(__name__)

_LINKS, _AUDITS = Link.__table__, AuditEvent.__table__
# Run on the driver's cursor (``plugin.db.prepared``), every open of a batch in one executemany each.
_COUNT = Prepared(update(_LINKS).where(_LINKS.c.id == bindparam("link_id")).values(
    open_count=_LINKS.c.open_count + 1, last_opened_at=bindparam("now", type_=UTCDateTime),
    first_opened_at=func.coalesce(_LINKS.c.first_opened_at, bindparam("now", type_=UTCDateTime))))
_AUDIT = Prepared(insert(_AUDITS).values(
    at=bindparam("now", type_=UTCDateTime), action="opened", actor="respondent", link_id=bindparam("link_id"),
    survey_id=bindparam("survey_id"), contact_id=bindparam("contact_id"), request_id=bindparam("request_id")))
MAX_QUEUED = 1_000_000  # opens kept while the database refuses them; past this the oldest are dropped (logged)


@dataclass(frozen=True, slots=True)
class Open:
    """One recorded open of a live link: which link, whose, when, and the request that made it."""

    link_id: int
    survey_id: str
    contact_id: int
    at: datetime
    request_id: str | None


def write_opens(connection: Connection, opens: Sequence[Open]) -> None:
    """Count each open on its link (first and last open times), write its audit row and, while a subscription
    wants it, its ``link.opened`` event, in the caller's transaction; opens of one link in time order leave the
    last one's time."""
    if not opens:
        return
    sql = Driver(connection)
    sql.run_many(_COUNT, [{"now": item.at, "link_id": item.link_id} for item in opens])
    sql.run_many(_AUDIT, [{"now": item.at, "link_id": item.link_id, "survey_id": item.survey_id,
                           "contact_id": item.contact_id, "request_id": item.request_id} for item in opens])
    events.record_each(connection, "link.opened",
                       [(item.survey_id, item.contact_id, item.link_id, item.at) for item in opens])


_LOGS: weakref.WeakSet[OpenLog] = weakref.WeakSet()


class OpenLog:
    """The process's queue of opens and the thread that writes them every ``interval`` seconds."""

    def __init__(self, engine: Callable[[], Engine], interval: float) -> None:
        self._engine = engine
        self.interval = interval
        self._pid = os.getpid()
        self._queue: list[Open] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one write at a time: the thread's and an exit's never interleave
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed = self._dropped = 0  # writes failed and opens dropped since the last write that worked
        _LOGS.add(self)

    def add(self, item: Open) -> None:
        """Queue an open; the first one in a process starts its writer thread (after a fork too)."""
        if self._pid != os.getpid():  # a forked worker: the parent's queue and thread are not ours
            self._pid, self._queue, self._lock, self._thread = os.getpid(), [], threading.Lock(), None
            self._flushing, self._failed, self._dropped = threading.Lock(), 0, 0
        with self._lock:
            self._queue.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="open-log", daemon=True)
                self._thread.start()

    def pending(self) -> int:
        """How many opens wait to be written."""
        return len(self._queue)

    def flush(self) -> int:
        """Write every queued open in one transaction now; the number written (0 when the write failed)."""
        with self._flushing:
            with self._lock:
                batch, self._queue = self._queue, []
            if not batch:
                return 0
            engine = self._engine()
            try:
                with sqlite_write_turn(engine.dialect.name, 10.0, engine.url.database), engine.begin() as connection:
                    write_opens(connection, batch)
            except SQLAlchemyError as exc:
                self._refused(batch, exc)
                return 0
            if self._failed:
                log.warning("writing opens again after %d failed writes: %d queued opens written, %d dropped",
                            self._failed, len(batch), self._dropped)
                self._failed = self._dropped = 0
            return len(batch)

    def _refused(self, batch: list[Open], exc: SQLAlchemyError) -> None:
        """Queue the batch again; log the first failure and the first drop of a spell, not every retry (the thread
        tries every interval: ten times a second per worker by default), the counts when a write works again."""
        if not self._failed:
            log.warning("could not write %d opens, kept for the next try (%s); nothing more is logged until a write "
                        "succeeds", len(batch), type(exc).__name__)
        self._failed += 1
        with self._lock:
            self._queue[:0] = batch
            if len(self._queue) > MAX_QUEUED:
                dropped = len(self._queue) - MAX_QUEUED
                del self._queue[:dropped]
                if not self._dropped:
                    log.error("dropping the oldest unwritten opens: more than %d queued (counted until a write "
                              "succeeds)", MAX_QUEUED)
                self._dropped += dropped

    def _run(self) -> None:
        while not self._wake.wait(self.interval):
            self.flush()


def flush_all() -> int:
    """Write the queued opens of every log of this process (at its exit); how many were written."""
    return sum(open_log.flush() for open_log in list(_LOGS) if open_log._pid == os.getpid())


atexit.register(flush_all)
