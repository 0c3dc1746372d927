"""The production server settings: ``gunicorn -c python:plugin.gunicorn_conf 'plugin.wsgi:app'``.

(In a checkout, ``gunicorn.conf.py`` at the top, which gunicorn reads by default, is this module.)

gthread workers: the arbiter's heartbeat runs beside the request threads, so a long CSV download (a million
links streams for tens of seconds) is never cut short by ``timeout``, which only catches a hung worker.
Measured in bench/RESULTS.md. Every value can be overridden from the environment (``PERSONAL_LINKS_BIND``,
``PERSONAL_LINKS_WORKERS``, ``PERSONAL_LINKS_THREADS``) or on the command line (``-w``, ``-b``...), which wins.

With ``PERSONAL_LINKS_METRICS=on`` every worker writes its numbers to files in ``PERSONAL_LINKS_METRICS_DIR``;
the master empties that folder once before the workers start (numbers of an earlier run would otherwise be
added to this one's) and marks each worker that exits, as prometheus_client's multiprocess mode asks.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from plugin import create_app, metrics
from plugin.services import open_log

bind = os.environ.get("PERSONAL_LINKS_BIND", "0.0.0.0:8000")
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
