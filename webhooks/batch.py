"""Deliveries that arrive together are applied together: one write turn, one transaction, one commit.

Under a burst the request threads of a process queue for the write turn (``plugin.db.write_turn``), and each paid
for the turn, a connection and a commit of its own. Here the first delivery to find no batch running leads:
it takes the deliveries queued behind it (at most ``MAX_BATCH``, itself first), applies each in a savepoint of
one transaction, and commits once; then it hands the lead to the first delivery queued meanwhile. A failure
is undone alone (back to its savepoint) and its delivery stored as failed in the same transaction, for the
retry job, exactly as ``claim_and_apply`` does in a transaction of its own; a commit that fails leaves none
of the batch stored, and each is answered 503 (the host sends it again). A delivery alone is applied by
``claim_and_apply``, unchanged. Each delivery's audit row and log lines keep its own request id.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import OperationalError

from plugin import logs, metrics
from plugin.db import DbSession
from plugin.db.prepared import Driver
from plugin.services.responses.attribution import Applied, Intake
from plugin.services.responses.records import Delivery
from webhooks import store
from webhooks.inbox_apply import claim_and_apply, claim_applied, effect, store_failure

MAX_BATCH = 32


@dataclass(eq=False)
class Job:
    """One delivery waiting to be applied, and what became of it."""

    webhook_id: str
    delivery: Delivery
    body: str
    now: datetime
    request_id: str | None  # the delivery's request's, for its audit row and log lines (and its route)
    route: str | None = None
    lead: bool = False  # this job's thread applies the next batch
    taken: bool = False  # in a batch being applied
    finished: bool = False
    outcome: tuple[bool, Applied | None] | None = None  # what claim_and_apply returns
    error: BaseException | None = None  # what it raised
    dead: bool = False  # stored as dead (a value the database refuses)
    wake: threading.Event = field(default_factory=threading.Event)  # set when finished, or when the lead is its


class Batches:
    """A process's deliveries waiting to be applied, and whether one of its threads is applying a batch. Each
    job's thread sleeps on the job's own event: woken when its batch is done or the lead is its, never by
    another's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._leading = False

    def apply(self, job: Job, run: Callable[[list[Job]], None], wait_seconds: float) -> tuple[bool, Applied | None]:
        """``job``'s outcome once a batch holding it is applied (by this thread, when it leads, or another);
        OperationalError ("database is busy") when no batch took it within ``wait_seconds``."""
        deadline = time.monotonic() + wait_seconds
        with self._lock:
            self._queue.append(job)
            if not self._leading:
                self._leading = job.lead = True
        while True:
            with self._lock:
                if job.lead or job.finished:
                    break
                left = deadline - time.monotonic()
                if left <= 0 and not job.taken:
                    self._queue.remove(job)
                    raise OperationalError("waiting for a batch to write", {}, TimeoutError("database is busy"))
                taken = job.taken
            job.wake.wait(None if taken else left)  # taken: its batch's statements have their own limits
        if not job.finished:
            self._lead(run)
        if job.error is not None:
            raise job.error
        assert job.outcome is not None  # noqa: S101 - a finished job has one or the other
        return job.outcome

    def _lead(self, run: Callable[[list[Job]], None]) -> None:
        with self._lock:
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH))]
            for job in batch:
                job.taken = True
        try:
            run(batch)
        except BaseException as exc:  # noqa: BLE001 - every job of the batch must hear of it (none is stored)
            for job in batch:
                job.outcome, job.error = None, exc
        finally:
            with self._lock:
                for job in batch:
                    job.finished = True
                    job.wake.set()
                if self._queue:
                    self._queue[0].lead = True
                    self._queue[0].wake.set()
                else:
                    self._leading = False


def apply_jobs(session: DbSession, jobs: list[Job], *, intake: Intake, wait_limit_ms: int,
               turn: Callable[[], AbstractContextManager[Any]]) -> None:
    """Store and apply ``jobs`` (each job's outcome or error set): one alone by ``claim_and_apply``, several in
    one transaction, each in a savepoint."""
    if len(jobs) == 1:
        job = jobs[0]
        try:
            job.outcome = claim_and_apply(session, job.webhook_id, job.delivery, job.body, job.now, intake,
                                          wait_limit_ms, turn)
        except Exception as exc:  # noqa: BLE001 - raised in the job's own request
            job.error = exc
        return
    sql = Driver(session)
    try:
        store.limit_waits(sql, wait_limit_ms)
        with turn():
            if sql.dialect.name == "sqlite":
                sql.control("BEGIN IMMEDIATE")  # savepoints nest in it (the first one would begin its own)
            for job in jobs:
                token = None if job.request_id is None else logs.bind(job.request_id, job.route)
                try:
                    _apply_one(session, sql, job, intake)
                finally:
                    if token is not None:
                        logs.unbind(token)
            session.commit()
    except Exception as exc:  # noqa: BLE001 - nothing of the batch is stored: each is answered 503
        session.rollback()
        for job in jobs:
            job.outcome, job.dead, job.error = None, False, exc
        return
    for job in jobs:
        if job.dead:
            metrics.delivery_dead("unstorable")
        elif job.outcome is not None and job.outcome[1] is not None and job.outcome[1].decided:
            metrics.response_applied(job.outcome[1].status)


def _apply_one(session: DbSession, sql: Driver, job: Job, intake: Intake) -> None:
    """What ``claim_and_apply`` does for one delivery, back to the delivery's savepoint on a failure."""
    sql.control("SAVEPOINT delivery")
    try:
        inbox_id = claim_applied(session, sql, job.webhook_id, job.delivery, job.body, job.now)
        job.outcome = (False, None) if inbox_id is None else (
            True, effect(session, sql, inbox_id, job.delivery, job.now, intake))
        sql.control("RELEASE SAVEPOINT delivery")
    except Exception as exc:  # noqa: BLE001 - any failure of the effect must leave the stored delivery behind
        sql.control("ROLLBACK TO SAVEPOINT delivery")
        try:
            job.dead = store_failure(session, sql, job.webhook_id, job.delivery, job.body, job.now, exc)
        except Exception as stored_exc:  # noqa: BLE001 - not stored: its request is answered 503
            sql.control("ROLLBACK TO SAVEPOINT delivery")
            job.outcome, job.dead, job.error = None, False, stored_exc
        else:
            job.outcome = (True, None)
        sql.control("RELEASE SAVEPOINT delivery")
