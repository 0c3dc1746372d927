"""The documented production setup holds under slow clients: docs/nginx.conf (as written, with the test's ports
and folders) in front of gunicorn with the repository's settings (``-c python:plugin.gunicorn_conf``) on SQLite.

Bare, two workers of four threads each were held by eight connections sending a webhook body at a byte a
second: the click p50 went from 12 ms to 14 s. Behind nginx, 200 such connections for 30 s leave the clicks
as quick as they were.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from plugin.config import SETTINGS
from plugin.tokens import LinkTokens
from tests.deploy.nginx import CONFIG, nginx
from tests.helpers import NOW, SECRET_KEY
from tests.servers import fresh_database, gunicorn

pytestmark = pytest.mark.servers
SLOW_SENDERS, LOAD_SECONDS, QUIET_SECONDS = 200, 30, 10
SLOW_HEAD = (b"POST /webhooks/formbricks HTTP/1.1\r\nHost: links.example.com\r\nContent-Type: application/json\r\n"
             b"Content-Length: 1000\r\n\r\n")


class SlowSenders:
    """``count`` connections, each sending a webhook's headers and then its body at one byte a second."""

    def __init__(self, address: tuple[str, int], count: int) -> None:
        self.sockets = [socket.create_connection(address) for _ in range(count)]
        for sock in self.sockets:
            sock.sendall(SLOW_HEAD)
        self.cut: list[int] = []  # connections the other end closed
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            for number, sock in enumerate(self.sockets):  # spread over the second: no burst of 200 sends
                if number not in self.cut:
                    try:
                        sock.sendall(b" ")
                    except OSError:
                        self.cut.append(number)
                if self.stopping.wait(1 / len(self.sockets)):
                    return

    def answers(self) -> list[bytes]:
        """Stop sending; what each connection was answered so far (nothing, while nginx waits for its body)."""
        self.stopping.set()
        self.thread.join()
        answers = []
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                answers.append(sock.recv(4096))
            except BlockingIOError:
                answers.append(b"")
            except OSError:
                answers.append(b"(reset)")
            sock.close()
        return answers


def clicks(url: str, seconds: float) -> tuple[list[float], list[int]]:
    """Open ``url`` one click after another for ``seconds``: each click's time and status."""
    times, statuses = [], []
    with requests.Session() as session:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            response = session.get(url, allow_redirects=False, timeout=60)
            times.append(time.perf_counter() - started)
            statuses.append(response.status_code)
    return times, statuses


def p99(times: list[float]) -> float:
    return sorted(times)[int(len(times) * 0.99)]


def a_link(url: str) -> str:
    """A live link's token: one contact, one survey, one link, in the server's database."""
    engine = sa.create_engine(url)
    now = NOW.replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO contacts (host_id, attributes, source, created_at, updated_at)"
                                   " VALUES ('c1', '{}', 'test', :now, :now)"), {"now": now})
        connection.execute(sa.text("INSERT INTO surveys (id, name, public_url, type, status, hidden_field_ids,"
                                   " single_use, source, created_at, updated_at) VALUES ('s', 'S',"
                                   " 'https://forms.example.com/s/s', 'link', 'inProgress', '[]', false, 'manual',"
                                   " :now, :now)"), {"now": now})
        link_id = connection.execute(sa.text(
            "INSERT INTO links (survey_id, contact_id, created_at, max_uses, use_count, open_count, is_current)"
            " SELECT 's', id, :now, 1, 0, 0, true FROM contacts RETURNING id"), {"now": now}).scalar_one()
    engine.dispose()
    return LinkTokens(SECRET_KEY).make(link_id, "s")


def test_the_body_limit_is_the_sidecars() -> None:
    assert SETTINGS["MAX_CONTENT_LENGTH"][0] == 1024 * 1024
    assert "client_max_body_size 1m;" in CONFIG.read_text()


def test_two_hundred_slow_senders_leave_the_clicks_as_quick_as_they_were(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        token = a_link(url)
        with gunicorn(url, tmp_path, workers=2, options=("-c", "python:plugin.gunicorn_conf")) as upstream, \
                nginx(upstream.removeprefix("http://"), tmp_path / "nginx") as base:
            click = f"{base}/c/{token}"
            clicks(click, 2)  # warm: connections made, first requests served
            quiet, quiet_statuses = clicks(click, QUIET_SECONDS)
            senders = SlowSenders(("127.0.0.1", int(base.rsplit(":", 1)[1])), SLOW_SENDERS)
            loaded, loaded_statuses = clicks(click, LOAD_SECONDS)
            cut, answers = list(senders.cut), senders.answers()
    quiet_p99, loaded_p99 = p99(quiet), p99(loaded)
    print(f"click p99 quiet {quiet_p99 * 1000:.1f} ms ({len(quiet)} clicks), with {SLOW_SENDERS} slow senders "
          f"{loaded_p99 * 1000:.1f} ms ({len(loaded)} clicks)")
    assert set(quiet_statuses) == set(loaded_statuses) == {302}
    assert loaded_p99 < 3 * quiet_p99
    assert cut == [] and set(answers) == {b""}  # every slow sender was held, none answered (no 5xx, no 408)
