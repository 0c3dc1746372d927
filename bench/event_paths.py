"""Outbound events: how fast two instances drain a backlog to a real receiver, and how late an answer arrives.

A backlog of ``link.opened`` events waits in the outbox; two ``personal-links scheduler`` processes (the
default settings, only the events job on) drain it to a keep-alive receiver in a process of its own that
verifies every delivery with the Standard Webhooks reference library (``tests/plugin/events_http.py``).
Meanwhile responses finish through the real webhook intake, 20 a second, each writing a
``response.completed``; its lag is the receiver's arrival time minus the event's timestamp (when the response
was applied). The baseline is a plain loop in one thread: ``requests`` posting pre-signed bodies over one
kept connection to the same receiver (what one sender can do with no database at all).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.http_paths import SECRET, SURVEY, database, env_for, prepare
from bench.load import PYTHON, ROOT, free_port
from plugin import create_app
from plugin.db import db
from plugin.services.events import events, subscriptions
from webhooks.signature import sign

FEED_RATE = 20  # responses finished a second while the backlog drains
CLI = str(Path(PYTHON).with_name("personal-links"))
JOBS_OFF = ("PURGE", "RETRY", "SYNC", "RECONCILE", "REMINDER_RELEASE", "ERASURE")


@dataclass(frozen=True)
class EventsResult:
    """One backend: verified deliveries per second, the answers' lag, and the plain loop's rate."""

    backend: str
    delivered: int
    expected: int
    duplicates: int
    rejected: int
    rate: float
    lag_p50_ms: float
    lag_p99_ms: float
    completions: int
    baseline_rate: float


@contextmanager
def _process(command: list[str], env: dict[str, str], name: str) -> Iterator[subprocess.Popen[bytes]]:
    log = tempfile.NamedTemporaryFile("w+", prefix=f"bench-{name}-", suffix=".log", delete=False)
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                               stdout=log, stderr=log)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        os.unlink(log.name)


def _report(base: str) -> dict[str, Any]:
    return requests.get(f"{base}/report", timeout=10).json()  # type: ignore[no-any-return]


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/report", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


def _baseline(url: str, secret: str, count: int) -> float:
    """Pre-signed bodies posted one after another over one kept connection: deliveries a second."""
    stamp = int(time.time())
    bodies = []
    for number in range(count):
        webhook_id = f"evt_baseline_{number}"
        body = json.dumps({"id": webhook_id, "type": "link.opened", "timestamp": "2026-12-03T00:00:00.000Z",
                           "data": {"surveyId": SURVEY, "contactId": "c1", "linkId": number}},
                          separators=(",", ":")).encode()
        bodies.append((webhook_id, body, sign(webhook_id, stamp, body, secret)))
    with requests.Session() as http:
        started = time.perf_counter()
        for webhook_id, body, signature in bodies:
            http.post(url, data=body, timeout=5, headers={"webhook-id": webhook_id, "webhook-timestamp": str(stamp),
                                                          "webhook-signature": signature,
                                                          "content-type": "application/json"}).raise_for_status()
        return count / (time.perf_counter() - started)


def _feed(app: Any, tokens: list[str], stop: threading.Event, done: list[int]) -> None:
    """Finish one response a 1/FEED_RATE of a second through the real webhook intake, until told to stop."""
    client = app.test_client()
    started = time.monotonic()
    for number, token in enumerate(tokens):
        if stop.is_set():
            return
        time.sleep(max(0.0, started + number / FEED_RATE - time.monotonic()))
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        body = json.dumps({"webhookId": "bench-hook", "event": "responseFinished", "data": {
            "id": f"resp-{number}", "createdAt": stamp, "updatedAt": stamp, "surveyId": SURVEY, "contact": None,
            "finished": True, "data": {"plink": token}, "meta": {}, "singleUseId": None}}).encode()
        timestamp, webhook_id = int(time.time()), f"msg_feed_{number}"
        answer = client.post("/webhooks/formbricks", data=body, headers={
            "content-type": "application/json", "webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(webhook_id, timestamp, body, SECRET)})
        if answer.status_code == 200:
            done[0] += 1


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def events_drain(backend: str, opens: int = 6000, baseline_count: int = 2000) -> EventsResult:
    """A backlog of ``opens`` events drained by two scheduler processes while responses finish."""
    with database(backend) as url:
        tokens = prepare(url, 1000)
        env = {**env_for(url), **{f"PERSONAL_LINKS_{job}_INTERVAL_SECONDS": "0" for job in JOBS_OFF}}
        app = create_app({"SECRET_KEY": env["PERSONAL_LINKS_SECRET_KEY"], "PUBLIC_URL": "https://links.example.com",
                          "DATABASE_URL": url, "SCHEDULER": "off", "WEBHOOK_SECRETS": SECRET,
                          "LOG_LEVEL": "WARNING"})
        port = free_port()
        with app.app_context():
            created = subscriptions.create_subscription(
                db.session, {"url": f"http://127.0.0.1:{port}/hook", "events": ["link.opened", "response.completed"]},
                datetime.now(UTC))
            db.session.commit()
            now = datetime.now(UTC)
            events.record_each(db.session.connection(), "link.opened", [(SURVEY, 1, 1, now)] * opens)
            db.session.commit()
        base = f"http://127.0.0.1:{port}"
        with _process([PYTHON, "-m", "tests.plugin.events_http", str(port), created.secret], {}, "receiver"):
            _wait_for_port(port, time.monotonic() + 30)
            baseline = _baseline(f"{base}/hook", created.secret, baseline_count)
            before = len(_report(base)["received"])
            stop, done = threading.Event(), [0]
            feeder = threading.Thread(target=_feed, args=(app, tokens, stop, done), daemon=True)
            with _process([CLI, "scheduler"], env, "drain-1"), _process([CLI, "scheduler"], env, "drain-2"):
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline and len(_report(base)["received"]) == before:
                    time.sleep(0.05)  # the schedulers' first runs (one interval after they start)
                feeder.start()  # answers finish while the backlog drains
                while time.monotonic() < deadline:
                    time.sleep(0.5)
                    if len(_report(base)["received"]) - before >= opens:
                        break
                stop.set()
                feeder.join(30)
                expected = opens + done[0]
                while time.monotonic() < deadline and len(_report(base)["received"]) - before < expected:
                    time.sleep(0.5)
            report = _report(base)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    received = [item for item in report["received"] if not item[0].startswith("evt_baseline_")]
    arrivals = [item[3] for item in received if item[1] == "link.opened"]  # the backlog's: from first to last
    lags = [(item[3] - datetime.fromisoformat(item[2].replace("Z", "+00:00")).timestamp()) * 1000
            for item in received if item[1] == "response.completed"]
    ids = [item[0] for item in received]
    span = max(arrivals) - min(arrivals) if len(arrivals) > 1 else float("nan")
    return EventsResult(backend, len(set(ids)), expected, len(ids) - len(set(ids)), len(report["rejected"]),
                        len(arrivals) / span, statistics.median(lags) if lags else float("nan"),
                        _percentile(lags, 0.99), len(lags), baseline)


def describe(result: EventsResult) -> tuple[str, str, str, str, str, str]:
    """The RESULTS.md row: target ≥ 300 verified deliveries/s with two processes, each once, lag reported."""
    ok = (result.rate >= 300 and result.delivered == result.expected and result.duplicates == 0
          and result.rejected == 0)
    return (f"outbound events, 2 processes, {result.backend}",
            "≥ 300 verified deliveries/s, each once; a completion's lag reported (p50, p99)",
            f"{result.rate:,.0f} deliveries/s; {result.delivered:,} of {result.expected:,} verified, "
            f"{result.duplicates} twice, {result.rejected} refused; {result.completions} completions during the "
            f"drain: lag p50 {result.lag_p50_ms:,.0f} ms, p99 {result.lag_p99_ms:,.0f} ms",
            f"{result.baseline_rate:,.0f} deliveries/s (a plain loop, one thread, no database)",
            f"{result.rate / result.baseline_rate:.2f}" if result.baseline_rate else "—",
            "met" if ok else "**not met**")


if __name__ == "__main__":
    for name in sys.argv[1:] or ("sqlite", "postgres"):
        print(describe(events_drain(name)))
