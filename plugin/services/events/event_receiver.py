"""A tiny receiver of the sidecar's own events, for trying a subscription out: verify, answer, say what came.

It checks each POST with ``webhooks.signature.verify``, the function that checks the host's webhooks, so what it
accepts is exactly what a Standard Webhooks receiver accepts. It is a tool for a terminal or a script (one thread,
one request at a time), not a production receiver.
"""

from __future__ import annotations

import json
import socketserver
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer

from webhooks.signature import SignatureError, verify

MAX_BODY = 1024 * 1024  # an event is a few hundred bytes; refuse to read more than this
READ_TIMEOUT = 10  # seconds a sender may take to send a request: one slow sender must not hold the receiver


@dataclass(frozen=True, slots=True)
class Received:
    """What the receiver made of one request: the status it answers, the line it prints, and whether it counts
    as a verified delivery (a repeat of a delivered ``webhook-id`` is answered 204 but not counted again)."""

    status: int
    line: str
    verified: bool = False


def check(headers: Mapping[str, str], body: bytes, keys: Sequence[bytes], now: float, seen: set[str]) -> Received:
    """Verify one delivery over its raw body, then read its event; ``seen`` holds the ids verified before."""
    try:
        delivery = verify(headers, body, keys, now=now)
    except SignatureError as exc:
        return Received(401, f"REJECTED: {exc.reason}: {exc}")
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        event = None
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        return Received(400, f"REJECTED: {delivery.webhook_id} is signed but its body is not a JSON event")
    if delivery.webhook_id in seen:
        return Received(204, f"again {event.get('type')} {delivery.webhook_id} (already received)")
    seen.add(delivery.webhook_id)
    data = event["data"]
    return Received(204, f"verified {event.get('type')} {delivery.webhook_id} survey={data.get('surveyId')} "
                         f"contact={data.get('contactId')}", verified=True)


class EventReceiver(HTTPServer):
    """An HTTP server bound to ``host:port`` whose every POST is checked, counted and ``report``-ed."""

    def __init__(self, host: str, port: int, keys: Sequence[bytes], report: Callable[[Received], None],
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__((host, port), _Handler)
        self.keys = list(keys)
        self.report = report
        self.clock = clock
        self.seen: set[str] = set()
        self.verified = 0

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse lookup of the address (socket.getfqdn can wait on DNS)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def receive(self, headers: Mapping[str, str], body: bytes) -> Received:
        """Check one request and report it."""
        received = check(headers, body, self.keys, self.clock(), self.seen)
        self.verified += received.verified
        return received

    def listen(self, count: int | None = None) -> None:
        """Answer requests one at a time until ``count`` verified deliveries came (for ever without one)."""
        while count is None or self.verified < count:
            self.handle_request()


class _Handler(BaseHTTPRequestHandler):
    server: EventReceiver
    timeout = READ_TIMEOUT
    server_version = "personal-links-listen"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = self.headers.get("content-length", "")
        if not length.isascii() or not length.isdigit():
            self._answer(Received(411 if not length else 400, "REJECTED: no valid Content-Length"))
        elif int(length) > MAX_BODY:
            self._answer(Received(413, f"REJECTED: a body of {int(length)} bytes, at most {MAX_BODY}"))
        else:
            body = self.rfile.read(int(length))
            # an email.message.Message: its items() give every header, a repeated one twice (verify refuses it)
            self._answer(self.server.receive(self.headers, body))  # type: ignore[arg-type]

    def do_GET(self) -> None:  # noqa: N802
        """Not a delivery (a browser, a readiness check): 405, and nothing printed."""
        self.send_response(405)
        self.send_header("Allow", "POST")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _answer(self, received: Received) -> None:
        self.server.report(received)  # before the answer: whoever sent it can then read the line
        self.send_response(received.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        """Quiet: the report is the one line per delivery."""
