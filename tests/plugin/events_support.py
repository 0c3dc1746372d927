"""A real HTTP receiver of our outbound events that verifies each one with the Standard Webhooks reference
library (``standardwebhooks`` from PyPI), and helpers to subscribe it and drain the outbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from plugin.clock import FrozenClock
from plugin.db import db
from plugin.services.events import events, subscriptions
from plugin.services.events.delivery import Policy, drain, http_sender, pooled_http
from plugin.state import state
from tests.servers import serve_in_thread


@dataclass
class Received:
    """One verified delivery: the receiver's name for its subscription, the headers' id, the parsed body."""

    hook: str
    webhook_id: str
    body: dict[str, Any]


@dataclass
class Receiver:
    """The receiving end: secrets by hook name, what arrived, what it answers, an optional hold."""

    base: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses to answer first, one per request; then 200
    hold: threading.Event | None = None  # when set up, a request waits for it (a slow receiver)
    holding: threading.Event = field(default_factory=threading.Event)  # set while a request waits
    extra: dict[str, Any] = field(default_factory=dict)
    in_flight: int = 0  # requests being answered now
    most_in_flight: int = 0  # the most answered at once
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, hook: str) -> str:
        """The URL a subscription named ``hook`` sends to."""
        return f"{self.base}/hook/{hook}"

    def ids(self, hook: str | None = None) -> list[str]:
        """The webhook ids that arrived (for one hook), in order, repeats included."""
        return [item.webhook_id for item in self.received if hook is None or item.hook == hook]


def receiver_app(receiver: Receiver) -> Flask:
    """A small Flask app: POST /hook/<name> verified with the reference library, answered as told."""
    app = Flask("event-receiver")

    @app.post("/hook/<hook>")
    def hook(hook: str) -> Any:
        body = request.get_data()
        try:
            parsed = Webhook(receiver.secrets[hook]).verify(body, dict(request.headers))
        except (KeyError, WebhookVerificationError) as exc:
            receiver.rejected.append(f"{hook}: {type(exc).__name__}: {exc}")
            return "rejected", 400
        receiver.received.append(Received(hook, request.headers["webhook-id"], parsed))
        with receiver.lock:
            receiver.in_flight += 1
            receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
        time.sleep(float(receiver.extra.get("delay", 0)))
        with receiver.lock:
            receiver.in_flight -= 1
        if receiver.hold is not None:
            receiver.holding.set()
            receiver.hold.wait(30)
        status = receiver.answers.pop(0) if receiver.answers else 200
        if receiver.extra.get("endless"):  # an answer that never ends: the sender must stop reading
            return Response(iter(lambda: b"x" * 1024, b""), status=status)
        return "ok", status, {"Location": receiver.url("elsewhere")} if 300 <= status < 400 else {}

    return app


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver served over real HTTP in a thread."""
    receiver = Receiver()
    with serve_in_thread(receiver_app(receiver)) as base:
        receiver.base = base
        yield receiver


def real_time(app: Flask) -> FrozenClock:
    """Stand the app's clock at the real time: the reference library checks the timestamp against it."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    app.extensions["personal_links"].clock = clock
    return clock


def subscribe(receiver: Receiver, hook: str, kinds: list[str] | tuple[str, ...] = events.KINDS) -> int:
    """Subscribe the receiver's ``hook`` to ``kinds`` through the service; its id. Commits."""
    created = subscriptions.create_subscription(db.session, {"url": receiver.url(hook), "events": list(kinds)},
                                                state().clock.now())
    db.session.commit()
    receiver.secrets[hook] = created.secret
    return int(created.subscription.id)


POLICY = Policy(timeout=2.0, limit=1000, budget=60.0)


def drain_now(policy: Policy = POLICY, holder: str = "test") -> dict[str, int]:
    """One drain with the app's clock and a real HTTP client, as the events job makes it."""
    with pooled_http(policy.senders) as http:
        return drain(db.session, state().clock, policy, holder, http_sender(http), rand=lambda: 1.0)


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    """Wait until ``condition()`` is true (a receiver thread's effect), or fail."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
