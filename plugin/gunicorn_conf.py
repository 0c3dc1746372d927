"""The production server settings: ``gunicorn -c python:plugin.gunicorn_conf 'plugin.wsgi:app'``.

(In a checkout, ``gunicorn.conf.py`` at the top, which gunicorn reads by default, is this module.)

gthread workers: the arbiter's heartbeat runs beside the request threads, so a long CSV download (a million
links streams for tens of seconds) is never cut short by ``timeout``, which only catches a hung worker.
Measured in bench/RESULTS.md. The server listens on the loopback (127.0.0.1:8000): a buffering proxy on the
same host (docs/nginx.conf) faces the clients, as gunicorn's deployment docs ask; the worker class adds a floor
under slow clients for anything that reaches it directly (plugin/slow_clients.py). Every value can be overridden
from the environment (``PERSONAL_LINKS_BIND``, ``PERSONAL_LINKS_WORKERS``, ``PERSONAL_LINKS_THREADS``) or on the
command line (``-w``, ``-b``...), which wins.

With ``PERSONAL_LINKS_METRICS=on`` every worker writes its numbers to files in ``PERSONAL_LINKS_METRICS_DIR``;
the master empties that folder once before the workers start (numbers of an earlier run would otherwise be
added to this one's) and marks each worker that exits, as prometheus_client's multiprocess mode asks.

gunicorn's control socket (``gunicornc``) is one path per user by default (``~/.gunicorn/gunicorn.ctl``), so two
servers on one host took each other's: each server here gets its own, in the instance folder and named after its
bind address (``instance/gunicorn-127.0.0.1-8000.ctl``). ``--control-socket PATH`` or ``--no-control-socket`` win.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from pathlib import Path
from typing import Any

from plugin import create_app, metrics
from plugin.services.links import open_log

bind = os.environ.get("PERSONAL_LINKS_BIND", "127.0.0.1:8000")  # a proxy on this host in front (docs/nginx.conf)
workers = int(os.environ.get("PERSONAL_LINKS_WORKERS", str(max(2, multiprocessing.cpu_count()))))
worker_class = "plugin.slow_clients.ThreadWorker"  # gthread, with a floor under slow clients (CLIENT_* settings)
threads = int(os.environ.get("PERSONAL_LINKS_THREADS", "4"))
timeout = 60  # a worker silent this long is hung and restarted (with gthread, not a limit on a request)
graceful_timeout = 30
keepalive = 5
errorlog = "-"


def on_starting(server: Any) -> None:
    """Check the settings once in the master and empty the metrics folder before any worker writes to it."""
    app = create_app()  # a wrong setting stops the server here, with its one-line message
    _own_control_socket(server, Path(app.instance_path))
    if app.config["METRICS"]:
        metrics.clear_directory(app.config["METRICS_DIR"])
        server.log.info("metrics on: workers write to %s", app.config["METRICS_DIR"])


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: its live values stop counting (its counters' totals stay)."""
    metrics.mark_process_dead(worker.pid)


def worker_exit(server: Any, worker: Any) -> None:
    """A worker stops: write the opens it still holds (``OPEN_FLUSH_MS``) before it is gone."""
    written = open_log.flush_all()
    if written:
        server.log.info("wrote %d queued opens at exit", written)


UNIX_PATH_MAX = 107  # the longest path a Unix socket can be bound to on Linux (108 bytes with the final NUL)


def control_socket_path(instance_path: Path, addresses: list[Any]) -> Path:
    """This server's control socket: in its instance folder, named after the addresses it listens on."""
    listening = "_".join(f"{address[0]}-{address[1]}" if isinstance(address, tuple) else str(address)
                         for address in addresses)
    return instance_path / f"gunicorn-{re.sub(r'[^A-Za-z0-9.]+', '-', listening).strip('-')}.ctl"


def _own_control_socket(server: Any, instance_path: Path) -> None:
    """Give this server a control socket of its own, unless one was chosen on the command line."""
    setting = server.cfg.settings["control_socket"]
    if server.cfg.control_socket_disable or setting.value != setting.default:
        return
    path = control_socket_path(instance_path, server.cfg.address)
    if len(str(path).encode()) > UNIX_PATH_MAX:
        server.log.warning("no control socket: %s is too long a path for one (give --control-socket PATH)", path)
        server.cfg.set("control_socket_disable", True)
        return
    server.cfg.set("control_socket", str(path))
