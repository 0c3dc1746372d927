"""A floor under slow clients: gunicorn's gthread worker, with a deadline on reading each request.

A gthread worker reads a request's headers and body inside one of its few threads (4 by default), with no deadline
of its own: eight connections sending a webhook body at a byte a second held every thread of two workers, and the
clicks behind them waited. Behind the documented buffering proxy (docs/nginx.conf) no request arrives slowly; this
worker is the floor for an instance that is reached directly anyway:

- the request line and headers must be complete ``CLIENT_TIMEOUT_SECONDS`` after their first byte, else the
  connection is answered 408 and closed;
- a body gets the same time, plus a second for every ``CLIENT_MIN_BYTES_PER_SECOND`` bytes it delivered (a big
  upload at a decent rate goes on for as long as it needs), else the request is answered 408 and closed.

A blocked ``recv`` cannot be given a deadline from inside (a socket timeout is per call, and a byte a second
renews it), so one watchdog thread per worker process shuts the socket for reading when a deadline passes: the
reading thread sees the end of the stream, and the answer is 408 (``Connection: close``). Keep-alive waits between
requests are gunicorn's own (``keepalive``): the poller holds those connections, not a thread. Used by
``-c python:plugin.gunicorn_conf`` (``worker_class``); made for gunicorn 27's gthread worker.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gunicorn.workers import gthread
from werkzeug.exceptions import RequestTimeout

from plugin.config import SETTINGS

TICK = 0.2  # seconds between the watchdog's looks at the deadlines: the floor is kept to within this
CHUNK = 1024  # a body is read in pieces this big, so its progress is seen while a slow client sends it
_SLOW = b"the request came in too slowly\n"
TIMED_OUT = (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
             b"Content-Length: %d\r\n\r\n%s" % (len(_SLOW), _SLOW))

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Floor:
    """How slowly a request may arrive: its headers within ``seconds``, its body at ``bytes_per_second`` after those."""

    seconds: int
    bytes_per_second: int

    @classmethod
    def from_config(cls, config: Any) -> Floor | None:
        """The app's ``CLIENT_*`` settings; None when ``CLIENT_TIMEOUT_SECONDS`` is 0 (no floor)."""
        seconds = int(config.get("CLIENT_TIMEOUT_SECONDS", SETTINGS["CLIENT_TIMEOUT_SECONDS"][0]))
        rate = int(config.get("CLIENT_MIN_BYTES_PER_SECOND", SETTINGS["CLIENT_MIN_BYTES_PER_SECOND"][0]))
        return cls(seconds, rate) if seconds > 0 else None


class Watch:
    """One connection's deadline while a request is read; ``expired`` once the watchdog shut it for reading."""

    def __init__(self, sock: socket.socket, floor: Floor, phase: str) -> None:
        self.sock, self.floor = sock, floor
        self.expired = False
        self.begin(phase)

    def begin(self, phase: str) -> None:
        """Start a phase (``headers``, then ``body``): its time counts from now."""
        self.phase, self.started, self.received = phase, time.monotonic(), 0

    def deadline(self) -> float:
        """When this phase must be over, given what arrived of it so far."""
        earned = self.received / self.floor.bytes_per_second if self.floor.bytes_per_second else 0.0
        return self.started + self.floor.seconds + earned

    def expire(self) -> None:
        """Called by the watchdog: the reading thread's ``recv`` returns at once, with the end of the stream."""
        self.expired = True
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:  # closed meanwhile: nothing left to stop
            pass


class Watchdog:
    """One thread per worker process that expires the watches whose deadline passed."""

    def __init__(self) -> None:
        self._watches: set[Watch] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)
        self._thread.start()

    def watch(self, sock: socket.socket, floor: Floor) -> Watch:
        """Start watching a connection whose request is about to be read."""
        watch = Watch(sock, floor, "headers")
        with self._lock:
            self._watches.add(watch)
        return watch

    def forget(self, watch: Watch) -> None:
        """The request is read (or the connection is done): no deadline any more."""
        with self._lock:
            self._watches.discard(watch)

    def _run(self) -> None:
        while True:
            time.sleep(TICK)
            now = time.monotonic()
            with self._lock:  # held while expiring: once forget() returned, its watch is never expired
                late = [watch for watch in self._watches if watch.deadline() < now]
                self._watches.difference_update(late)
                for watch in late:
                    watch.expire()


class TimedInput:
    """``wsgi.input`` read in small pieces, each counted towards the body's deadline; 408 once it passed."""

    def __init__(self, stream: Any, watch: Watch) -> None:
        self.stream, self.watch = stream, watch

    def _counted(self, read: Callable[[int], bytes], size: int) -> bytes:
        try:
            data = read(size)
        except Exception as exc:
            if self.watch.expired:
                raise RequestTimeout("the request body came in too slowly") from exc
            raise
        if self.watch.expired:
            raise RequestTimeout("the request body came in too slowly")
        self.watch.received += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when ``size`` is None or negative)."""
        pieces, left = [], -1 if size is None or size < 0 else size
        while left != 0:
            data = self._counted(self.stream.read, CHUNK if left < 0 else min(CHUNK, left))
            if not data:
                break
            pieces.append(data)
            left = left if left < 0 else left - len(data)
        return b"".join(pieces)

    def readline(self, size: int | None = -1) -> bytes:
        """One line (a line of a trickling body is cut by the watchdog like any other read)."""
        return self._counted(self.stream.readline, -1 if size is None else size)

    def readlines(self, hint: int | None = None) -> list[bytes]:
        """Every line left."""
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


def _has_body(environ: Environ) -> bool:
    return environ.get("CONTENT_LENGTH", "") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ


class ThreadWorker(gthread.ThreadWorker):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's gthread worker with a deadline on reading each request (``Floor``); the same without one."""

    floor: Floor | None = None
    wsgi: WsgiApp  # set by gunicorn's load_wsgi

    def load_wsgi(self) -> None:
        """Load the app, read its floor, and put the body's deadline around it."""
        super().load_wsgi()
        self.floor = Floor.from_config(getattr(self.wsgi, "config", {}))
        if self.floor is not None:
            self.watchdog = Watchdog()
            self.current = threading.local()  # the watch of the request this thread reads
            self.wsgi = self._timed(self.wsgi)

    def handle(self, conn: Any) -> Any:
        """Serve the next request of a connection, its headers read within the floor."""
        if self.floor is None:
            return super().handle(conn)
        # gunicorn's own wait for a new connection's first byte (the poller, not a thread, waits any longer)
        if not (conn.initialized or conn.data_ready or conn.wait_for_data(gthread.DEFAULT_WORKER_DATA_TIMEOUT)):
            return gthread._DEFER
        watch = self.current.watch = self.watchdog.watch(conn.sock, self.floor)
        try:
            keep = super().handle(conn)
        finally:
            self.watchdog.forget(watch)
            self.current.watch = None
        if watch.expired and watch.phase == "headers":
            peer = conn.client[0] if isinstance(conn.client, tuple) else conn.client
            self.log.info("answered 408 to %s and closed: its request headers took over %d s", peer,
                          self.floor.seconds)
            try:
                conn.sock.sendall(TIMED_OUT)
            except OSError:  # the client is gone already
                pass
            return False
        return keep

    def _timed(self, app: WsgiApp) -> WsgiApp:
        """The app, its request body read against the floor, the watch dropped once the app has answered."""

        def timed(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            watch: Watch | None = getattr(self.current, "watch", None)
            if watch is None:
                return app(environ, start_response)
            watch.begin("body")  # the headers are in: whatever happens now, the app answers
            if not _has_body(environ):
                self.watchdog.forget(watch)
                return app(environ, start_response)
            environ["wsgi.input"] = TimedInput(environ["wsgi.input"], watch)

            def closing(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
                if watch.expired:  # the rest of the body will never be read: the connection cannot be reused
                    headers = [*headers, ("Connection", "close")]
                    self.log.info("answered 408 to %s: its request body came slower than %d bytes/s",
                                  environ.get("REMOTE_ADDR"), watch.floor.bytes_per_second)
                return start_response(status, headers, *args)

            try:
                return app(environ, closing)
            finally:
                self.watchdog.forget(watch)

        return timed
