"""SQLite's WAL checkpoints off the request path: one thread per process and database file copies the log back.

In WAL mode SQLite copies the log back into the database file (a checkpoint) once the log has passed
``wal_autocheckpoint`` pages, inside the commit that crossed it; with ``synchronous=NORMAL`` that commit also
waits for an fsync of the database file. A webhook delivery writes about 17 pages, so with the default of 1,000
every 60th delivery paid 4–8 ms, holding its process's write turn (``plugin.db.write_turn``) while the
other writers queued. Measured in bench/RESULTS.md.

So the app's connections raise that threshold to ``SAFETY_PAGES`` (the net, should this thread stop or fall
behind), and a daemon thread runs a PASSIVE checkpoint every ``INTERVAL_SECONDS`` on a connection of its own:
PASSIVE never waits for a lock and never blocks a reader or a writer, and the copy and the fsync run with the
GIL released, beside the requests. The thread ends when its database file is gone (a test's folder).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.2
SAFETY_PAGES = 20_000  # 80 MiB of log with 4 KiB pages: checkpointed inline only if the thread falls behind

_threads: dict[tuple[int, str], threading.Thread] = {}  # (process, file): a process forked keeps none running
_guard = threading.Lock()


def database_file(dbapi_connection: sqlite3.Connection) -> str | None:
    """The file a connection is open on; None for an in-memory or temporary database."""
    for _seq, name, path in dbapi_connection.execute("PRAGMA database_list"):
        if name == "main":
            return str(path) or None
    return None


def take_over(dbapi_connection: sqlite3.Connection) -> None:
    """Leave this connection's checkpoints to this process's thread for its file (started on the first call)."""
    path = database_file(dbapi_connection)
    if path is None:
        return
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint = {SAFETY_PAGES}")
    key = (os.getpid(), path)
    with _guard:
        running = _threads.get(key)
        if running is not None and running.is_alive():
            return
        thread = threading.Thread(target=_run, args=(path,), name="personal-links-sqlite-checkpoints", daemon=True)
        _threads[key] = thread
        thread.start()


def running(path: str) -> bool:
    """Whether this process has a live checkpoint thread for ``path``."""
    thread = _threads.get((os.getpid(), str(path)))
    return thread is not None and thread.is_alive()


def _run(path: str) -> None:
    try:  # mode=rw: never create the file again once a test's folder is gone
        connection = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None, timeout=0)
    except sqlite3.Error as exc:
        log.warning("SQLite checkpoints stay inline for %s: %s", path, exc)
        return
    try:
        while Path(path).exists():
            time.sleep(INTERVAL_SECONDS)
            try:
                checkpoint(connection)
            except sqlite3.Error as exc:  # a file removed under it, say; the next round tries again
                log.debug("SQLite checkpoint of %s skipped: %s", path, exc)
    finally:
        connection.close()
        with _guard:  # a test's files come and go: keep no entry for each
            if _threads.get((os.getpid(), path)) is threading.current_thread():
                del _threads[(os.getpid(), path)]


def checkpoint(connection: sqlite3.Connection) -> tuple[int, int, int]:
    """One PASSIVE checkpoint: (busy, pages in the log, pages copied back), as SQLite reports them."""
    busy, logged, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(busy), int(logged), int(copied)
