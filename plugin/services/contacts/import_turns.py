"""How a long import writes: each batch a transaction of its own in SQLite's write turn, or all in one transaction.

SQLite lets one connection write at a time. An import written as one transaction holds the database's write lock
from its first row to its last (15 s for a million contacts), and the server's writers fail meanwhile: the webhook
intake waits 2.5 s at most. So on SQLite each batch of an import is a transaction of its own, begun once the
batch has the write turn (``plugin.db.write_turn``) and committed at its end: the writers that queue for the turn
(the webhook intake, the opens) get it when the batch ends, and those that wait in SQLite's busy handler (the admin API,
retrying every 100 ms) find the lock free between two batches: the import stays out for at least a quarter of
the time its last batch held the lock (``GAP_SHARE``; reading the next batch of a contact file takes that long
anyway), so a writer's retries meet a free lock within a second or so, far inside its 10 s. A refused file still changes
nothing because the importer checks all of it before it writes anything (``contact_file``,
``suppression_import``); a failure while writing (a full disk, a kill) leaves the batches written so far, and
running the same import again completes it (imports are upserts).

PostgreSQL's writers take row locks and run beside a long transaction, so there the import stays one transaction
and a failure leaves everything as it was. ``writes_for`` is the one place that chooses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from plugin import db as db_module
from plugin.db import DbSession
from plugin.db.write_turn import sqlite_write_turn

GAP_SHARE = 0.25  # after a batch, the import leaves the lock free for at least this share of the batch's time


@dataclass
class Batch:
    """One batch being written: how many rows it holds (counted as written once it is committed)."""

    rows: int = 0


class Writes:
    """Where an import's batches go: the caller's transaction (``Writes()``, nothing committed here), or each batch
    in a transaction of its own taken in the write turn and committed (``Writes(session, database)``)."""

    def __init__(self, session: DbSession | None = None, database: str | None = None) -> None:
        self._session = session
        self._database = database
        self.written = 0  # rows of the batches committed so far
        self._out_until = 0.0  # when the next batch may take the turn (time.monotonic)

    @property
    def in_turns(self) -> bool:
        """Whether each batch is committed on its own."""
        return self._session is not None

    @contextmanager
    def batch(self, rows: int = 0) -> Iterator[Batch]:
        """Run one batch's reads and writes inside. In turns: the write turn first (the busy OperationalError
        after SQLite's busy limit without it), then committed, or rolled back on an error."""
        batch = Batch(rows)
        if self._session is None:
            yield batch
            return
        session = self._session
        if (pause := self._out_until - time.monotonic()) > 0:
            time.sleep(pause)  # the others' turn
        with sqlite_write_turn("sqlite", db_module.SQLITE_BUSY_TIMEOUT_MS / 1000, self._database):
            started = time.monotonic()
            try:
                yield batch
                session.commit()
                self.written += batch.rows
            except BaseException:
                session.rollback()
                raise
            finally:
                ended = time.monotonic()
                self._out_until = ended + (ended - started) * GAP_SHARE

    def stopped(self, total: int, unit: str) -> str | None:
        """What a failure left, in one line, when batches were committed; None when nothing was."""
        if not self.written:
            return None
        return (f"the import stopped after writing {self.written:,} of {total:,} {unit}: run the same import again "
                "to complete it")


CALLERS_TRANSACTION = Writes()  # batches written in the caller's transaction: it commits, or rolls back


def writes_for(session: DbSession) -> Writes:
    """How an import on ``session``'s database writes: in turns on SQLite, in one transaction elsewhere (committed
    by the caller). The session should keep one connection throughout (a scratch table may live in it)."""
    bind = session.get_bind()  # an engine, or the connection a session is bound to
    if bind.dialect.name == "sqlite":
        return Writes(session, bind.engine.url.database)
    return Writes()
