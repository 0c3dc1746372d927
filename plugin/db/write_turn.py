"""SQLite writers take turns: one thread of a process at a time, and one process at a time per database file.

SQLite lets one connection write at a time. Writers that collide in the database wait in its busy handler,
which sleeps 1, 2, 5 … up to 100 ms between tries: under a burst most of a request's time is spent asleep, and
a process whose writer sleeps while another process's threads hand the database to each other is starved
(measured: 503s after half a second of waiting, bench/RESULTS.md). So the threads of a process queue on a
lock, and the one at the front queues for the file, on an ``flock`` of ``<database>-turn`` beside it; each is
woken the moment the writer before it lets go. A long CLI import takes a turn for each batch it writes
(``plugin.services.contacts.import_turns``); writers that take no turn (other commands, a job) still meet in the busy
handler. No turn is taken on PostgreSQL, whose row locks let writers run side by side.

``flock`` cannot give up after a while, so a thread of the process waits for the file in the requester's
place (``_FileTurn``): a request that has waited ``timeout_seconds`` in all gets the OperationalError SQLite
would give when busy for too long, and a turn that came too late is handed back at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

_THREADS = threading.Lock()  # this process's queue; its holder alone asks for the file
_FILES: dict[tuple[int, str], _FileTurn | None] = {}  # (process, database file): None when no lock file can be made
_FILES_GUARD = threading.Lock()


def _busy(what: str) -> OperationalError:
    return OperationalError(what, {}, TimeoutError("database is busy"))


@contextmanager
def sqlite_write_turn(dialect: str, timeout_seconds: float, database: str | None = None) -> Iterator[None]:
    """On SQLite, the turn to write: this process's (threads queued), then the file's (processes queued) when
    ``database`` names the file. OperationalError ("database is busy") after ``timeout_seconds`` without it."""
    if dialect != "sqlite":
        yield
        return
    deadline = time.monotonic() + timeout_seconds
    if not _THREADS.acquire(timeout=timeout_seconds):
        raise _busy("waiting for a turn to write")
    try:
        turn = _file_turn(database) if database and database != ":memory:" else None
        if turn is not None and not turn.acquire(deadline - time.monotonic()):
            raise _busy("waiting for another process's turn to write")
        try:
            yield
        finally:
            if turn is not None:
                turn.release()
    finally:
        _THREADS.release()


def _file_turn(database: str) -> _FileTurn | None:
    key = (os.getpid(), database)  # a forked process opens its own: an flock is shared by a file's openers
    if key in _FILES:
        return _FILES[key]
    with _FILES_GUARD:
        if key not in _FILES:
            try:
                _FILES[key] = _FileTurn(f"{database}-turn")
            except OSError as exc:  # a read-only folder: the busy handler alone, as before
                log.warning("SQLite writers of %s take turns within each process only: %s", database, exc)
                _FILES[key] = None
        return _FILES[key]


class _FileTurn:
    """An exclusive ``flock`` of one file, asked for with a time limit. Free at once: taken on the requester's
    own descriptor. Else this process's waiter thread blocks in ``flock`` on a second descriptor (two
    descriptors are two lockers, so a late grant can never unlock the requester's) and the requester waits
    for it, at most its limit; a grant nobody waits for any more is handed back."""

    def __init__(self, path: str) -> None:
        self._fast = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._slow = os.open(path, os.O_RDWR)
        self._state = threading.Condition()
        self._asking = 0  # the ticket of the request waiting for the waiter thread (0: none)
        self._granted = 0
        self._tickets = 0
        self._holding: int | None = None  # the descriptor the turn in use was taken on
        self._waiter: threading.Thread | None = None

    def acquire(self, timeout: float) -> bool:
        """Take the file's turn within ``timeout`` seconds; False when other processes kept it that long."""
        try:
            fcntl.flock(self._fast, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._holding = self._fast
            return True
        except BlockingIOError:
            pass
        with self._state:
            if self._waiter is None:
                self._waiter = threading.Thread(target=self._wait_for_lock, name="personal-links-write-turn",
                                                daemon=True)
                self._waiter.start()
            self._tickets += 1
            mine = self._asking = self._tickets
            self._state.notify_all()
            if self._state.wait_for(lambda: self._granted == mine, timeout=max(timeout, 0.0)):
                self._holding = self._slow
                return True
            self._asking = 0  # withdrawn: a grant that comes now is handed back
            return False

    def release(self) -> None:
        """Let the next process write."""
        held, self._holding = self._holding, None
        if held is not None:
            fcntl.flock(held, fcntl.LOCK_UN)

    def _wait_for_lock(self) -> None:
        while True:
            with self._state:
                self._state.wait_for(lambda: self._asking != 0)
            fcntl.flock(self._slow, fcntl.LOCK_EX)  # blocks, the GIL released, until the other process lets go
            with self._state:
                if self._asking:  # a requester waits (the one that asked, or the one after it): the turn is its
                    self._granted, self._asking = self._asking, 0
                    self._state.notify_all()
                    continue
            fcntl.flock(self._slow, fcntl.LOCK_UN)
