"""Real server processes for tests: a fresh migrated database of its own, and gunicorn with several workers."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import WSGIRequestHandler, make_server

from plugin import create_app
from plugin.db import db
from tests.helpers import PUBLIC_URL, SECRET_KEY, base_config, postgres_schema

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """An empty, migrated database of its own: a SQLite file in ``folder``, or a new PostgreSQL schema."""
    with ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'servers.sqlite3'}"
        else:
            url = stack.enter_context(postgres_schema("pl_servers"))
        app = create_app(base_config(url))
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
            db.engine.dispose()
        yield url


def free_port() -> int:
    """A TCP port on the loopback nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(database_url: str, folder: Path, *, workers: int, app: str = "plugin:create_app()",
             settings: dict[str, str] | None = None, options: tuple[str, ...] = ()) -> Iterator[str]:
    """gunicorn with ``workers`` processes on the database; yields its base URL; stopped however it ends.

    ``options`` are more gunicorn command-line options (``("-c", "python:plugin.gunicorn_conf")``)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PERSONAL_LINKS_DATABASE_URL": database_url,
           "PERSONAL_LINKS_SECRET_KEY": SECRET_KEY, "PERSONAL_LINKS_PUBLIC_URL": PUBLIC_URL,
           "PERSONAL_LINKS_INSTANCE_PATH": str(folder / "instance"),
           **{f"PERSONAL_LINKS_{name}": value for name, value in (settings or {}).items()}}
    log_path = folder / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([str(GUNICORN), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "30",
                                    *options, app], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except (requests.ConnectionError, requests.Timeout):  # still booting
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def demo_key_when_up(process: subprocess.Popen[str], url: str, timeout: float = 30) -> tuple[str | None, str]:
    """The admin API key a starting ``serve --demo`` prints (None when it printed none), once it answers
    ``/healthz``; and what it printed until then."""
    key, output = None, []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()  # type: ignore[union-attr]
        output.append(line)
        found = re.search(r"(plk_\S+)", line)
        key = key or (found.group(1) if found else None)
        if line.startswith("Serving on"):
            break
    for _ in range(100):
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    return key, "".join(output)


class _QuietHandler(WSGIRequestHandler):
    """Keeps test output clean: no access log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""


@contextmanager
def serve_in_thread(app: Flask) -> Iterator[str]:
    """Serve ``app`` over real HTTP on 127.0.0.1 (a free port) in a thread; yields the base URL, then stops."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
