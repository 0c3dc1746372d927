"""gunicorn settings for the sidecar's metrics: ``gunicorn -c python:plugin.gunicorn_conf ... 'plugin.wsgi:app'``.

With ``PERSONAL_LINKS_METRICS=on`` every worker writes its numbers to files in ``PERSONAL_LINKS_METRICS_DIR``;
the master empties that folder once before the workers start (numbers of an earlier run would otherwise be
added to this one's) and marks each worker that exits, as prometheus_client's multiprocess mode asks.
Without metrics these hooks do nothing. Other gunicorn settings stay on the command line.
"""

from __future__ import annotations

from typing import Any

from plugin import create_app, metrics
from plugin.config import ConfigError


def on_starting(server: Any) -> None:
    """Check the settings once in the master and empty the metrics folder before any worker writes to it."""
    try:
        app = create_app()
    except ConfigError as exc:  # a wrong setting stops the server here, in one line, before any worker starts
        raise SystemExit(f"personal-links: {exc}") from None
    if app.config["METRICS"]:
        metrics.clear_directory(app.config["METRICS_DIR"])
        server.log.info("metrics on: workers write to %s", app.config["METRICS_DIR"])


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: its live values stop counting (its counters' totals stay)."""
    metrics.mark_process_dead(worker.pid)
