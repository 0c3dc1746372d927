"""The sidecar itself closes a connection whose headers or body trickle in slower than the floor
(``CLIENT_TIMEOUT_SECONDS``, ``CLIENT_MIN_BYTES_PER_SECOND``): a real gunicorn with the production settings.

SQLite only: a trickling client never reaches the database, so the backend changes nothing here.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import fresh_database, gunicorn

pytestmark = pytest.mark.servers

FLOOR = 2  # CLIENT_TIMEOUT_SECONDS in these tests
RATE = 2000  # CLIENT_MIN_BYTES_PER_SECOND in these tests
SLACK = 3  # seconds the server may take past its floor (its watchdog's tick, a shared CPU)
WEBHOOK_HEAD = b"POST /webhooks/formbricks HTTP/1.1\r\nHost: links.example.com\r\nContent-Type: application/json\r\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """gunicorn as production runs it (``-c python:plugin.gunicorn_conf``) with a short floor; (host, port)."""
    with fresh_database("sqlite", tmp_path) as url:
        settings = {"CLIENT_TIMEOUT_SECONDS": str(FLOOR), "CLIENT_MIN_BYTES_PER_SECOND": str(RATE)}
        with gunicorn(url, tmp_path, workers=1, settings=settings,
                      options=("-c", "python:plugin.gunicorn_conf")) as base:
            host, port = base.removeprefix("http://").split(":")
            yield host, int(port)


class Trickle:
    """Sends ``data`` a piece at a time, one every ``every`` seconds, from a thread, until the server hangs up."""

    def __init__(self, sock: socket.socket, data: bytes, *, piece: int = 1, every: float = 1.0) -> None:
        self.sock, self.data, self.piece, self.every = sock, data, piece, every
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.sent < len(self.data):
            try:
                self.sock.sendall(self.data[self.sent:self.sent + self.piece])
            except OSError:  # the server closed the connection
                return
            self.sent += self.piece
            time.sleep(self.every)


def answer_within(sock: socket.socket, seconds: float) -> tuple[bytes, float] | None:
    """What the server sent until it closed the connection, and when it closed it; None if still open."""
    started, received = time.monotonic(), b""
    sock.settimeout(0.2)
    while time.monotonic() - started < seconds:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received, time.monotonic() - started
        if not chunk:
            return received, time.monotonic() - started
        received += chunk
    return None


def test_headers_trickling_in_are_cut_after_the_floor(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        trickle = Trickle(sock, WEBHOOK_HEAD + b"X-Padding: " + b"a" * 200 + b"\r\n\r\n")
        closed = answer_within(sock, FLOOR + SLACK)
        assert closed is not None, f"still open after {FLOOR + SLACK} s ({trickle.sent} bytes sent)"
        answer, after = closed
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert after >= FLOOR - 0.5


@pytest.mark.parametrize("framing, body", [
    (b"Content-Length: 1000\r\n", b"{" + b" " * 999),
    (b"Transfer-Encoding: chunked\r\n", b"3e8\r\n{" + b" " * 999),
], ids=["content-length", "chunked"])
def test_a_body_trickling_in_is_answered_408_and_cut_after_the_floor(server: tuple[str, int], framing: bytes,
                                                                    body: bytes) -> None:
    with socket.create_connection(server) as sock:
        sock.sendall(WEBHOOK_HEAD + framing + b"\r\n")
        trickle = Trickle(sock, body)
        closed = answer_within(sock, FLOOR + SLACK)
        assert closed is not None, f"still open after {FLOOR + SLACK} s ({trickle.sent} bytes sent)"
        answer, after = closed
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert after >= FLOOR - 0.5


def test_a_body_faster_than_the_floor_is_served_however_long_it_takes(server: tuple[str, int]) -> None:
    body = b"{" + b" " * (3 * FLOOR * RATE - 2) + b"}"  # twice the floor's rate: 1.5 floors long
    with socket.create_connection(server) as sock:
        sock.sendall(WEBHOOK_HEAD + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
        Trickle(sock, body, piece=RATE // 5, every=0.1)
        closed = answer_within(sock, 3 * FLOOR + SLACK)
        assert closed is not None
        answer, after = closed
        assert after > FLOOR  # longer than the floor's grace, and still served
        assert answer.startswith(b"HTTP/1.1 401 "), answer  # unsigned: the webhook's own answer, not a 408


def test_a_keepalive_connection_idle_between_requests_is_not_cut_by_the_floor(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200 ")
        time.sleep(FLOOR + 1)  # longer than the floor, under gunicorn's 5 s keepalive: the poller waits, no thread
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        closed = answer_within(sock, SLACK)
        assert closed is not None and (first + closed[0]).count(b"HTTP/1.1 200 ") == 2
