"""Two gunicorn servers on one host, each with the production settings, each keep gunicorn's control socket of
their own: gunicorn 27's default (``~/.gunicorn/gunicorn.ctl``) is one path per user, and the second server to
start deleted the first's.

SQLite only: the control socket has nothing to do with the database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from gunicorn.ctl.client import ControlClient

from tests.servers import fresh_database, gunicorn

pytestmark = pytest.mark.servers
CONF = ("-c", "python:plugin.gunicorn_conf")
LISTENING = re.compile(r"Control socket listening at (\S+)")


def control_socket(log: Path, wait: float = 10.0) -> Path:
    """The control socket the server says it listens at (gunicorn's arbiter may say so after its first worker
    already answers, so the log is read again for a while)."""
    deadline = time.monotonic() + wait
    while (found := LISTENING.search(log.read_text())) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert found, log.read_text()
    return Path(found.group(1))


def listeners(path: Path) -> list[str]:
    """The addresses the server behind a control socket listens on, as it answers there."""
    with ControlClient(str(path), timeout=5) as client:
        return [listener["address"] for listener in client.send_command("show listeners")["listeners"]]


@contextmanager
def two_servers(url: str, folder: Path, instance: Path) -> Iterator[tuple[ExitStack, str, ExitStack, str]]:
    """Two servers on one instance folder, started at the same time; each can be stopped on its own."""
    def start(name: str) -> tuple[ExitStack, str]:
        (folder / name).mkdir()
        stack = ExitStack()
        return stack, stack.enter_context(gunicorn(url, folder / name, workers=1, options=CONF,
                                                   settings={"INSTANCE_PATH": str(instance)}))

    with ExitStack() as both, ThreadPoolExecutor(2) as pool:
        started = [pool.submit(start, name) for name in ("a", "b")]
        servers = []
        for future in started:
            stack, base = future.result()
            both.push(stack.__exit__)  # stopped at the end unless the test stopped it before
            servers.append((stack, base))
        (stack_a, base_a), (stack_b, base_b) = servers
        yield stack_a, base_a, stack_b, base_b


def test_two_servers_on_one_host_keep_a_control_socket_each(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # gunicorn's default is in HOME: never the real one's
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    with fresh_database("sqlite", tmp_path) as url, \
            two_servers(url, tmp_path, tmp_path / "instance") as (stack_a, base_a, stack_b, base_b):
        socket_a, socket_b = (control_socket(tmp_path / name / "gunicorn.log") for name in ("a", "b"))
        assert socket_a != socket_b
        assert socket_a.is_socket() and socket_b.is_socket()
        assert listeners(socket_a) == [base_a]  # each answers for its own server
        assert listeners(socket_b) == [base_b]
        stack_a.close()  # server a stops and removes its socket
        assert not socket_a.exists()
        assert socket_b.is_socket() and listeners(socket_b) == [base_b]
