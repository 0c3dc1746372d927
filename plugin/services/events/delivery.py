"""Draining the outbox: fan events out, claim batches of due deliveries by lease, send them signed, concurrently.

Nothing here runs inside a request: the scheduler's ``events`` job (or ``personal-links events deliver``) calls
``drain`` in every process that runs jobs. A drain claims a batch of due deliveries with a lease
(``delivery_claim``: response events first), commits the claim, hands each to a bounded pool of sender threads
that share one HTTP client (its connections to each receiver are kept and reused), and settles what came back
in batches; no database transaction is open while a receiver answers. A sender killed mid-send leaves a lease
that ends by itself; the next drain sends the delivery again, with the same event id (``webhook-id``), so every
event arrives at least once and a receiver deduplicates on that id.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta

import urllib3

from plugin import metrics
from plugin.clock import Clock
from plugin.db import DbSession
from plugin.services.events import delivery_backlog
from plugin.services.events.delivery_claim import WAITING, Claimed, Outcome, claim_batch, fan_out, settle
from plugin.services.events.events import payload
from webhooks.signature import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

__all__ = ["WAITING", "Answer", "Policy", "backoff", "drain", "fan_out", "http_sender", "pooled_http"]

log = logging.getLogger(__name__)

FIRST_BACKOFF = timedelta(seconds=10)
MAX_BACKOFF = timedelta(hours=1)
MAX_RESPONSE_BYTES = 4096  # of a receiver's answer we read at most this much, and keep less
USER_AGENT = "personal-links-events/1"
FAN_OUT_EVERY = 0.2  # seconds between a drain's looks for new events (each claim in between finds the last ones)
RECEIVERS = 100  # receivers whose connections one session keeps (subscriptions.MAX_SUBSCRIPTIONS)


@dataclass(frozen=True, slots=True)
class Policy:
    """How a drain sends: each request's timeout, how long an event is retried, the lease, the run's bounds."""

    timeout: float = 5.0
    retry_window: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=60)  # must outlast a batch's wait for a sender thread, and its send
    limit: int = 100_000  # deliveries sent per run at most
    budget: float = 30.0  # seconds after which a run claims no more (the next run goes on)
    senders: int = 8  # sender threads: requests in flight at once in this process
    behind_after: timedelta = timedelta(seconds=5)  # a due delivery waiting longer: the drains are behind


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt got: the receiver's status (None when it did not answer) and, on failure, why."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the receiver took it (any 2xx)."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


Sender = Callable[[str, dict[str, str], bytes, float], Answer]


def pooled_http(senders: int) -> urllib3.PoolManager:
    """An HTTP client for ``senders`` threads at once: up to that many kept connections to each receiver (one
    pool per scheme, host and port, reused from request to request); no retries of its own, no cookies.

    urllib3 rather than requests: it is what requests sends with, and half the processor time per request
    (measured: 0.8 against 1.4 ms), which is what a drain at a few hundred deliveries a second spends most on."""
    return urllib3.PoolManager(num_pools=RECEIVERS, maxsize=max(senders, 1), retries=False)


def http_sender(http: urllib3.PoolManager) -> Sender:
    """Send with ``http``: redirects not followed, a timeout on connect and every read, the answer read capped.
    Thread-safe: the pool manager hands each thread a connection of its own."""

    def send(url: str, headers: dict[str, str], body: bytes, timeout: float) -> Answer:
        deadline = time.monotonic() + 2 * timeout
        try:
            response = http.request("POST", url, body=body, headers=headers, redirect=False, retries=False,
                                    timeout=urllib3.Timeout(connect=timeout, read=timeout), preload_content=False)
            drained = False
            try:
                read = 0
                for chunk in response.stream(1024):  # drained only so the connection can be reused
                    read += len(chunk)
                    if read >= MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                        break
                else:
                    drained = True
            finally:
                if not drained:
                    response.close()  # the rest was never read: this connection is not used again
                response.release_conn()
            status = response.status
        except urllib3.exceptions.TimeoutError:
            return Answer(None, f"no answer within {timeout:g} s")
        except urllib3.exceptions.HTTPError as exc:  # the URL may hold a secret in its query: name the kind only
            return Answer(None, f"could not connect: {type(exc).__name__}")
        if 300 <= status < 400:
            return Answer(status, f"answered {status}, a redirect (not followed: subscribe the final URL)")
        if not 200 <= status < 300:
            return Answer(status, f"answered {status}")
        return Answer(status)

    return send


def backoff(attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
    """The wait after ``attempts`` failed attempts: 10 s doubling to at most an hour, each 50-100% of it."""
    base = min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)
    return base * (0.5 + rand() / 2)  # jitter, so receivers that come back are not met by every sender at once


def _attempt(claimed: Claimed, clock: Clock, timeout: float, send: Sender) -> Answer:
    """Sign and send one claimed delivery (in a sender thread): the body is the same bytes on every attempt."""
    body = payload(claimed)
    stamp = int(clock.now().timestamp())
    headers = {ID_HEADER: claimed.event_id, TIMESTAMP_HEADER: str(stamp),
               SIGNATURE_HEADER: sign(claimed.event_id, stamp, body, claimed.secret),
               "content-type": "application/json", "user-agent": USER_AGENT}
    return send(claimed.url, headers, body, timeout)


def drain(session: DbSession, clock: Clock, policy: Policy, holder: str, send: Sender,
          rand: Callable[[], float] = random.random) -> dict[str, int]:
    """Fan out and send due deliveries, ``policy.senders`` at a time, until none is due, ``policy.limit`` were
    claimed or the budget is spent; then settle what is in flight and measure the backlog.

    A batch is claimed whenever fewer than ``senders`` requests are in flight, enough to keep every sender busy
    through the next claim (at most ``2 * senders`` leased and not yet answered); answers are settled a round
    of ``senders`` at a time, in one transaction.
    """
    counts = {"fannedOut": 0, "delivered": 0, "failed": 0, "dead": 0}
    started = time.monotonic()
    claimed_count = 0
    claiming = True
    flying: dict[Future[Answer], Claimed] = {}
    answered: list[Outcome] = []  # sent, not settled yet
    fanned = -FAN_OUT_EVERY
    with ThreadPoolExecutor(max(policy.senders, 1), thread_name_prefix="events-send") as pool:
        while True:
            if claiming and len(flying) < policy.senders:
                now = clock.now()
                if time.monotonic() - fanned >= FAN_OUT_EVERY:
                    counts["fannedOut"] += fan_out(session, now, policy.retry_window)
                    fanned = time.monotonic()
                room = min(2 * policy.senders - len(flying), policy.limit - claimed_count)
                spent = time.monotonic() - started >= policy.budget
                batch = [] if spent else claim_batch(session, now, holder, policy.lease, room)
                claimed_count += len(batch)
                for claimed in batch:
                    flying[pool.submit(_attempt, claimed, clock, policy.timeout, send)] = claimed
                if not batch:
                    claiming = False  # nothing due, the limit reached or the budget spent: finish and end
            if not flying:
                break
            done, _ = wait(flying, return_when=FIRST_COMPLETED)
            answered.extend(_outcome(flying.pop(future), future) for future in done)
            if len(answered) >= policy.senders or not flying:  # a transaction per round, not per answer
                _settled(session, holder, answered, clock, rand, counts)
                answered = []
        if answered:
            _settled(session, holder, answered, clock, rand, counts)
    delivery_backlog.observe(session, clock.now(), policy.behind_after)
    return counts


def _outcome(claimed: Claimed, future: Future[Answer]) -> Outcome:
    """What an attempt came to; a sender thread that broke is a failed attempt (logged), never a lost lease."""
    error = future.exception()
    if error is not None:
        log.error("sending event %s failed in this process", claimed.event_id, exc_info=error)
        return Outcome(claimed, False, None, f"not sent: {type(error).__name__} in the sender")
    answer = future.result()
    return Outcome(claimed, answer.ok, answer.status, answer.error)


def _settled(session: DbSession, holder: str, outcomes: list[Outcome], clock: Clock, rand: Callable[[], float],
             counts: dict[str, int]) -> None:
    """Settle a batch of outcomes, count them, and log each failed attempt."""
    statuses = settle(session, holder, outcomes, clock.now(), lambda attempts: backoff(attempts, rand))
    for settled in statuses.values():
        counts[settled] += 1
    metrics.events_sent(statuses.values())
    for outcome in outcomes:
        status = statuses.get(outcome.claimed.id)
        if status in ("failed", "dead"):
            log.warning("event %s to subscription url %s: %s (%s)", outcome.claimed.event_id,
                        outcome.claimed.url.split("?", 1)[0], outcome.error, status)
