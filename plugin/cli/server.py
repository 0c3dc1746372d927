"""Running the sidecar: the server, the schema, the dedicated scheduler process."""

from __future__ import annotations

import os
import shlex
import sys

import click
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, run_simple

from plugin import demo, metrics, monitoring
from plugin.cli.base import cli, fail, with_app
from plugin.db import schema
from plugin.jobs.scheduler import run_blocking, start_background
from plugin.state import state


class QuietRequestHandler(WSGIRequestHandler):
    """No request line per request: it shows the path, and paths hold link tokens. The app logs each request
    with its route template instead (``plugin.access``)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing (errors are still logged)."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-upgrade", is_flag=True, help="Do not upgrade the database schema at start.")
@with_app
def serve(app: Flask, host: str, port: int, no_upgrade: bool) -> None:
    """Run the sidecar (threaded; use gunicorn for several processes)."""
    if app.config["METRICS"]:  # one process: nothing has been counted yet, so the last run's numbers can go
        metrics.clear_directory(app.config["METRICS_DIR"])
    if not no_upgrade:
        click.echo(schema.describe(*schema.upgrade_schema(app)))
    if app.config["DEMO"]:
        if not os.environ.get("PERSONAL_LINKS_PUBLIC_URL"):  # the demo's links point at this very server
            app.config["PUBLIC_URL"] = state().public_url = f"http://{host}:{port}"
        key = demo.prepare(app)
        click.echo(f"Demo data in {app.instance_path} (a real instance never reads it)")
        click.echo(f"Admin API key (shown once, keep it): {key}" if key else _kept_key_note(app))
        click.echo(f"Demo survey: {app.config['PUBLIC_URL']}/demo/s/{demo.DEMO_SURVEY}; try:\n"
                   f"  curl -H 'x-api-key: <key>' '{app.config['PUBLIC_URL']}/api/v2/management/surveys/"
                   f"{demo.DEMO_SURVEY}/contact-links/segments/beta-testers'")
    start_background(app)
    click.echo(f"Serving on http://{host}:{port} with Werkzeug's development server (one process); in production: "
               "gunicorn -c python:plugin.gunicorn_conf 'plugin.wsgi:app'")
    run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=QuietRequestHandler)


def _kept_key_note(app: Flask) -> str:
    """What a later demo start says instead of the key: where it went, and how to make another (and revoke it)."""
    program = sys.argv[0] if os.path.basename(sys.argv[0]) == "personal-links" else "personal-links"
    command = f"{shlex.quote(program)} --demo api-key"
    kept = demo.kept_key()
    note = (f"Admin API key: shown once, at this demo's first start; only its hash is kept, in {app.instance_path}, "
            f"so it cannot be shown again.\nLost it? Make another (shown once too): {command} create 'my demo key'")
    if kept is not None:
        note += f"\nand withdraw the lost one: {command} revoke {kept.prefix}"
    return note


@cli.command("metrics-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on (keep it private).")
@click.option("--port", default=9464, show_default=True, type=click.IntRange(1, 65535))
@with_app
def metrics_server(app: Flask, host: str, port: int) -> None:
    """Serve GET /metrics on a separate address, without a token: the numbers the server processes write to
    PERSONAL_LINKS_METRICS_DIR, added up. Run it next to the server, on the same machine."""
    if not app.config["METRICS"]:
        fail("PERSONAL_LINKS_METRICS is off: set it to on (here and for the server) and the same METRICS_DIR")
    click.echo(f"Serving metrics of {app.config['METRICS_DIR']} on http://{host}:{port}/metrics")
    run_simple(host, port, monitoring.separate_app(), threaded=True, use_reloader=False,
               request_handler=QuietRequestHandler)


@cli.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@with_app
def db_upgrade(app: Flask) -> None:
    """Upgrade the schema to the newest revision (never loses data)."""
    click.echo(schema.describe(*schema.upgrade_schema(app)))


@cli.command()
@with_app
def scheduler(app: Flask) -> None:
    """Run the scheduled jobs in this process (set PERSONAL_LINKS_SCHEDULER=off on the servers then)."""
    click.echo("scheduler running; stop with Ctrl-C")
    run_blocking(app)
