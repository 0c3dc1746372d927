"""Deliveries queued together are applied together (``webhooks.batch``): leadership, waits, one transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

import webhooks.batch
from plugin.db import db
from plugin.models import AuditEvent, ResponseAttribution
from plugin.services.responses import attribution
from plugin.services.responses.attribution import Applied, Intake
from plugin.services.responses.records import Delivery
from plugin.state import state
from tests.conftest import empty_tables, migrate_once
from tests.helpers import NOW
from tests.webhooks.support import response_body, token_of
from webhooks.batch import Batches, Job, apply_jobs
from webhooks.models import InboxDelivery
from webhooks.payload import parse_delivery


def _job(name: str, delivery: Any = None, request_id: str | None = None) -> Job:
    return Job(name, delivery, "{}", NOW, request_id)


def _applying(batches: list[list[str]], gate: threading.Event | None = None) -> Any:
    def run(jobs: list[Job]) -> None:
        batches.append([job.webhook_id for job in jobs])
        if gate is not None and len(batches) == 1:
            gate.wait(5)
        for job in jobs:
            job.outcome = (True, Applied(job.webhook_id, "attributed", 1, True))
    return run


def _in_thread(batches: Batches, job: Job, run: Any, wait: float, results: dict[str, Any]) -> threading.Thread:
    def go() -> None:
        try:
            results[job.webhook_id] = batches.apply(job, run, wait)
        except OperationalError as exc:
            results[job.webhook_id] = exc
    thread = threading.Thread(target=go)
    thread.start()
    return thread


@dataclass
class Held:
    """A batch of one delivery, "a", being applied on its own thread until ``gate`` is set."""

    batches: Batches
    applied: list[list[str]]  # the webhook ids of each batch applied, in order
    gate: threading.Event
    results: dict[str, Any]
    run: Any
    first: threading.Thread


def _first_batch_held() -> Held:
    batches, applied, gate, results = Batches(), [], threading.Event(), {}
    run = _applying(applied, gate)
    first = _in_thread(batches, _job("a"), run, 5.0, results)
    while not applied:
        time.sleep(0.01)
    return Held(batches, applied, gate, results, run, first)


def test_deliveries_queued_behind_a_batch_are_applied_in_the_next_one_by_one_of_their_threads() -> None:
    held = _first_batch_held()
    others = [_in_thread(held.batches, _job(name), held.run, 5.0, held.results) for name in ("b", "c", "d")]
    time.sleep(0.2)  # all three queued while "a" is applied
    held.gate.set()
    for thread in (held.first, *others):
        thread.join(5)
    assert held.applied[0] == ["a"] and sorted(held.applied[1]) == ["b", "c", "d"] and len(held.applied) == 2
    assert {name: outcome[1].response_id for name, outcome in held.results.items()} == {n: n for n in "abcd"}


def test_a_delivery_no_batch_takes_in_time_gets_the_busy_error_and_is_never_applied() -> None:
    held = _first_batch_held()
    late = _in_thread(held.batches, _job("late"), held.run, 0.1, held.results)
    late.join(5)
    held.gate.set()
    held.first.join(5)
    assert isinstance(held.results["late"], OperationalError) and "database is busy" in str(held.results["late"])
    assert held.applied == [["a"]]
    assert held.batches.apply(_job("after"), held.run, 1.0)[1].response_id == "after"  # the lead was handed back


def test_a_batch_that_raises_answers_each_of_its_deliveries_with_the_error() -> None:
    def run(jobs: list[Job]) -> None:
        raise OperationalError("COMMIT", {}, RuntimeError("disk I/O error"))
    with pytest.raises(OperationalError, match="disk I/O error"):
        Batches().apply(_job("a"), run, 1.0)


@pytest.fixture
def database_url(sqlite_url: str) -> Iterator[str]:
    """Batches are SQLite's (PostgreSQL's writers run side by side, each delivery its own transaction)."""
    migrate_once(sqlite_url)
    yield sqlite_url
    empty_tables(sqlite_url)


def _delivery(response_id: str, token: str) -> Delivery:
    parsed = parse_delivery(response_body("responseFinished", response_id, token, finished=True))
    assert isinstance(parsed, Delivery)
    return parsed


def _intake() -> Intake:
    plugin = state()
    return Intake(plugin.tokens, plugin.hidden_field)


def test_a_batch_is_one_transaction_where_a_failure_is_stored_alone_and_each_keeps_its_request_id(
        app: Flask, links: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    real = attribution.apply_delivery

    def failing_for_r2(session: Any, delivery: Delivery, *args: Any) -> Applied:
        if delivery.response.id == "r2":
            raise RuntimeError("a bug in applying r2")
        return real(session, delivery, *args)

    monkeypatch.setattr("plugin.services.responses.attribution.apply_delivery", failing_for_r2)
    jobs = [Job("w1", _delivery("r1", token_of(links["c1"])), "{}", NOW, "req-1"),
            Job("w2", _delivery("r2", token_of(links["c2"])), "{}", NOW, "req-2"),
            Job("w1", _delivery("r1", token_of(links["c1"])), "{}", NOW, "req-3"),  # the same delivery again
            Job("w3", _delivery("r3", token_of(links["c3"])), "{}", NOW, "req-4")]
    apply_jobs(db.session, jobs, intake=_intake(), wait_limit_ms=2000, turn=nullcontext)
    db.session.remove()
    assert [job.outcome[0] if job.outcome else None for job in jobs] == [True, True, False, True]
    assert [job.outcome[1].status if job.outcome and job.outcome[1] else None for job in jobs] == [
        "attributed", None, None, "attributed"]
    statuses = dict(db.session.execute(select(InboxDelivery.webhook_id, InboxDelivery.status)).all())
    assert statuses == {"w1": "applied", "w2": "failed", "w3": "applied"}
    assert sorted(db.session.scalars(select(ResponseAttribution.response_id))) == ["r1", "r3"]  # r2's undone
    audits = dict(db.session.execute(select(AuditEvent.link_id, AuditEvent.request_id)
                                     .where(AuditEvent.actor == "webhook")).all())
    assert audits == {links["c1"]: "req-1", links["c3"]: "req-4"}


def test_a_batch_whose_transaction_breaks_stores_none_of_it_and_every_delivery_hears_the_error(
        app: Flask, links: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    real = webhooks.batch._apply_one

    def breaking_on_the_second(session: Any, sql: Any, job: Job, intake: Intake) -> None:
        if job.webhook_id == "w2":  # as a transaction SQLite gave up on would (no savepoint left to go back to)
            raise OperationalError("ROLLBACK TO SAVEPOINT delivery", {}, RuntimeError("no such savepoint"))
        real(session, sql, job, intake)

    monkeypatch.setattr("webhooks.batch._apply_one", breaking_on_the_second)
    jobs = [Job("w1", _delivery("r1", token_of(links["c1"])), "{}", NOW, "req-1"),
            Job("w2", _delivery("r2", token_of(links["c2"])), "{}", NOW, "req-2")]
    apply_jobs(db.session, jobs, intake=_intake(), wait_limit_ms=2000, turn=nullcontext)
    db.session.remove()
    assert [job.outcome for job in jobs] == [None, None]
    assert all(isinstance(job.error, OperationalError) for job in jobs)
    assert db.session.scalars(select(InboxDelivery.webhook_id)).all() == []  # w1's claim went with it
    assert db.session.scalars(select(ResponseAttribution.response_id)).all() == []
