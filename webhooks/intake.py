"""The hand-over from the webhook view to the attribution rule: ``accept(arrival) -> Outcome``.

How a delivery is stored and applied is chosen once, at start-up, by the database (``for_app``), not per
delivery: on SQLite one writer runs at a time anyway, so deliveries that arrive together are stored and applied
in one transaction (``GroupCommit``: ``webhooks.batch`` under the write turn, ``plugin.db.write_turn``); on
PostgreSQL writers run side by side, each delivery in its own transaction on the intake's own connections
(``Direct``: ``webhooks.connections``). Either way the delivery is stored under its webhook id before any
effect, in the same transaction as its effect (``webhooks.inbox_apply``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from plugin.db import DbSession, db
from plugin.db.prepared import Driver
from plugin.db.write_turn import sqlite_write_turn
from plugin.logs import current_request_id
from plugin.services.responses.attribution import Applied, Intake
from plugin.services.responses.records import Delivery
from webhooks import connections, store
from webhooks.batch import Batches, Job, apply_jobs
from webhooks.inbox_apply import apply_stored, claim_and_apply
from webhooks.payload import PayloadError, UnknownEventError

WAIT_LIMIT_MS = 2000  # two waits of at most 2 s keep the answer inside the host's 5 s timeout
TURN_LIMIT_S = 0.5  # and at most this long in the queue of SQLite's writers (plugin.db.write_turn)


@dataclass(frozen=True, slots=True)
class Arrival:
    """An authentic delivery as the view read it: its webhook id, its body as it is stored, what the body parsed
    to (or why it did not), and when it arrived."""

    webhook_id: str
    body: str
    parsed: Delivery | PayloadError
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a delivery: ``applied`` (``applied`` says how), ``stored`` (applying failed; the retry job
    applies it), ``duplicate`` (stored before), ``ignored`` (an event not handled, named by ``event``) or
    ``malformed`` (not a delivery at all: ``error``). The last two are stored as ignored."""

    status: str
    webhook_id: str
    applied: Applied | None = None
    event: str = ""
    error: PayloadError | None = None


class DeliveryIntake(ABC):
    """Store a delivery by its webhook id and hand it to the attribution rule; the two ways below differ only in
    their session, the bound on their waits, their write turn and how a new delivery is stored and applied."""

    limit_ms: int | None = None  # the bound on a delivery's waits to set; None when its connections have one

    def __init__(self, rules: Callable[[], Intake], clock: Callable[[], datetime],
                 on_duplicate: Callable[[str], None]) -> None:
        self.rules = rules  # the attribution's rules, read per delivery (the app's state and settings)
        self.clock = clock
        self.on_duplicate = on_duplicate  # a duplicate this delivery decided, by its response id

    def accept(self, arrival: Arrival) -> Outcome:
        """Store the delivery and apply it; what became of it."""
        if isinstance(arrival.parsed, PayloadError):
            return _refuse(arrival, arrival.parsed)
        with self.session() as session:
            return self._settle(session, arrival.webhook_id, arrival.parsed, arrival.body)

    @abstractmethod
    def session(self) -> AbstractContextManager[DbSession]:
        """The session a delivery is stored and applied in."""

    def turn(self) -> AbstractContextManager[Any]:
        """The turn to write, held from the first write to the commit."""
        return nullcontext()

    @abstractmethod
    def store_and_apply(self, session: DbSession, webhook_id: str, delivery: Delivery, body: str, now: datetime
                        ) -> tuple[bool, Applied | None]:
        """What ``claim_and_apply`` returns: whether this call stored the delivery, and what applying gave."""

    def _settle(self, session: DbSession, webhook_id: str, delivery: Delivery, body: str) -> Outcome:
        stored, applied = self.store_and_apply(session, webhook_id, delivery, body, self.clock())
        if not stored:  # stored before: applied, ignored, or failed and waiting for the retry job
            row = store.find(session, webhook_id)
            session.commit()
            if row is None or row.status in ("applied", "ignored"):
                return Outcome("duplicate", webhook_id)  # a read: no turn to write taken
            if self.limit_ms is not None:
                store.limit_waits(Driver(session), self.limit_ms)
            with self.turn():
                applied = apply_stored(session, row.id, delivery, self.clock(), self.rules())  # a repeat
        if applied is None:
            return Outcome("stored", webhook_id)
        if applied.decided and applied.status == "duplicate":
            self.on_duplicate(applied.response_id)
        return Outcome("applied", webhook_id, applied)


class GroupCommit(DeliveryIntake):
    """SQLite: the app's session, its busy timeout bounded per delivery; the deliveries queued for the write turn
    stored and applied in one transaction (``webhooks.batch``)."""

    limit_ms = WAIT_LIMIT_MS

    def __init__(self, rules: Callable[[], Intake], clock: Callable[[], datetime],
                 on_duplicate: Callable[[str], None], database: str | None, route: str) -> None:
        super().__init__(rules, clock, on_duplicate)
        self._turn = partial(sqlite_write_turn, "sqlite", TURN_LIMIT_S, database)
        self.route = route  # for each delivery's log lines, when another thread applies it
        self.batches = Batches()  # deliveries of this process applied together

    def session(self) -> AbstractContextManager[DbSession]:
        return nullcontext(db.session)

    def turn(self) -> AbstractContextManager[Any]:
        return self._turn()

    def store_and_apply(self, session: DbSession, webhook_id: str, delivery: Delivery, body: str, now: datetime
                        ) -> tuple[bool, Applied | None]:
        job = Job(webhook_id, delivery, body, now, current_request_id(), self.route)
        run = partial(apply_jobs, session, intake=self.rules(), wait_limit_ms=WAIT_LIMIT_MS, turn=self.turn)
        return self.batches.apply(job, run, TURN_LIMIT_S)


class Direct(DeliveryIntake):
    """PostgreSQL: each delivery in a transaction of its own, on the intake's connections (made with the bound
    on their waits, ``webhooks.connections``)."""

    def __init__(self, rules: Callable[[], Intake], clock: Callable[[], datetime],
                 on_duplicate: Callable[[str], None], engine: Engine) -> None:
        super().__init__(rules, clock, on_duplicate)
        self.engine = engine

    def session(self) -> AbstractContextManager[DbSession]:
        return Session(self.engine)

    def store_and_apply(self, session: DbSession, webhook_id: str, delivery: Delivery, body: str, now: datetime
                        ) -> tuple[bool, Applied | None]:
        return claim_and_apply(session, webhook_id, delivery, body, now, self.rules(), None)


def for_app(app: Flask, rules: Callable[[], Intake], clock: Callable[[], datetime],
            on_duplicate: Callable[[str], None], route: str) -> DeliveryIntake:
    """The app's intake, chosen once: ``Direct`` when the intake has connections of its own (PostgreSQL),
    ``GroupCommit`` on SQLite (on the file the app's engine opens)."""
    engine = connections.engine_of(app)
    if engine is not None:
        return Direct(rules, clock, on_duplicate, engine)
    with app.app_context():
        database = db.engine.url.database
    return GroupCommit(rules, clock, on_duplicate, database, route)


def _refuse(arrival: Arrival, error: PayloadError) -> Outcome:
    """Store an authentic body that is no delivery we apply as ignored (an event not handled, or malformed)."""
    if isinstance(error, UnknownEventError):
        store.claim(db.session, arrival.webhook_id, error.event, arrival.body, arrival.received_at, status="ignored")
        db.session.commit()
        return Outcome("ignored", arrival.webhook_id, event=error.event)
    store.claim(db.session, arrival.webhook_id, "malformed", arrival.body, arrival.received_at, status="ignored",
                error=str(error))
    db.session.commit()
    return Outcome("malformed", arrival.webhook_id, error=error)
