"""Scheduled jobs run once from the command line, and their records."""

from __future__ import annotations

import click
from flask import Flask

from plugin.cli.base import cli, fail, with_app
from plugin.cli.output import fields
from plugin.jobs.runner import recent_runs, run_job
from plugin.jobs.tasks import JOBS


def run_job_once(app: Flask, name: str) -> None:
    """Run a scheduled job now, recorded like a scheduled run; a failure is one line and exit 1."""
    outcome = run_job(app, name, trigger="cli")
    if outcome.status == "failed":
        fail(f"{name} failed: {outcome.error}")
    summary = ", ".join(f"{key} {value}" for key, value in (outcome.counts or {}).items())
    click.echo(f"{name}: {summary or 'done'}")


@cli.command()
@with_app
def purge(app: Flask) -> None:
    """Purge expired tokens, old links and old webhook deliveries now (after their retention settings)."""
    run_job_once(app, "purge")


@cli.command()
@with_app
def reconcile(app: Flask) -> None:
    """Attribute finished responses whose webhooks never came, from the host's responses listing, now."""
    run_job_once(app, "reconcile")



@cli.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs."""


@jobs_group.command("run")
@click.argument("name", type=click.Choice(sorted(JOBS)))
@with_app
def jobs_run(app: Flask, name: str) -> None:
    """Run one job now, recorded like a scheduled run."""
    run_job_once(app, name)


@jobs_group.command("runs")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@with_app
def jobs_runs(app: Flask, limit: int) -> None:
    """The newest job runs."""
    for run in recent_runs(limit=limit):
        click.echo(fields(f"{run.started_at:%Y-%m-%d %H:%M:%S}", run.job, run.trigger, run.status,
                          run.counts or "", run.error or ""))
