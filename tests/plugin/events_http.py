"""A keep-alive receiver of our outbound events (HTTP/1.1, a thread per connection), verifying each delivery with
the Standard Webhooks reference library: what a production receiver behind a load balancer looks like, so the
tests can see connections reused, and the events benchmark can measure deliveries per second and their lag.

``python -m tests.plugin.events_http PORT SECRET`` serves it until stopped; ``GET /report`` answers what came,
as JSON (``[webhook id, type, event timestamp, arrival unix time, client port]`` per verified delivery).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

PLACEHOLDER = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # until ``use`` gives the subscription's


class KeepAliveReceiver(ThreadingHTTPServer):
    """Verifies every POST with ``secret``; keeps what came in ``received``, the refusals in ``rejected``."""

    daemon_threads = True

    def __init__(self, port: int, secret: str) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.webhook = Webhook(secret)
        self.lock = threading.Lock()
        self.received: list[tuple[str, str, str, float, int]] = []
        self.rejected: list[str] = []

    def server_bind(self) -> None:
        """Bind without the reverse lookup of the address (socket.getfqdn can wait on DNS)."""
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def use(self, secret: str) -> None:
        """Verify with ``secret`` from now on (a subscription's, known once it is made)."""
        self.webhook = Webhook(secret)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: KeepAliveReceiver
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            event: Any = self.server.webhook.verify(body, {key.lower(): value for key, value in self.headers.items()})
        except WebhookVerificationError as exc:
            with self.server.lock:
                self.server.rejected.append(str(exc))
            self._answer(400, b"rejected")
            return
        arrived = time.time()
        with self.server.lock:
            self.server.received.append((self.headers["webhook-id"], event["type"], event["timestamp"], arrived,
                                         self.client_address[1]))
        self._answer(204, b"")

    def do_GET(self) -> None:  # noqa: N802
        with self.server.lock:
            body = json.dumps({"received": self.server.received, "rejected": self.server.rejected}).encode()
        self._answer(200, body)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        """Quiet."""


@contextmanager
def keep_alive_receiver(secret: str = PLACEHOLDER) -> Iterator[KeepAliveReceiver]:
    """The receiver on a free port, served in a thread; stopped however the block ends."""
    server = KeepAliveReceiver(0, secret)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


if __name__ == "__main__":
    KeepAliveReceiver(int(sys.argv[1]), sys.argv[2]).serve_forever()
