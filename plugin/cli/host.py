"""The survey host: sync, install and uninstall."""

from __future__ import annotations

import sys

import click
from flask import Flask

from adapters.base import SurveyHost
from plugin.cli.base import ACTOR, cli, fail, with_app
from plugin.cli.output import shown
from plugin.db import db
from plugin.manifest import manifest
from plugin.services.host import host_check, install, sync
from plugin.services.host.adapters import configured
from plugin.state import state


@cli.command("sync")
@with_app
def sync_command(app: Flask) -> None:
    """Pull contacts, segments and surveys from the configured adapters (all or nothing)."""
    adapters = configured(app)
    clock = state().clock
    with click.progressbar(length=len(sync.STEPS), label="syncing", file=sys.stderr) as bar:
        def step(name: str) -> None:
            bar.label = name
            bar.update(1)

        result = sync.sync(db.session, adapters.contact_source, adapters.survey_host, clock.now(), ACTOR,
                           progress=step, finished=clock.now)
    click.echo(f"sync {result.run_id}: contacts {result.added} added, {result.changed} changed, "
               f"{result.removed} removed; {result.segments} segments; {result.surveys} surveys")


def _survey_host(app: Flask) -> SurveyHost:
    host = configured(app).survey_host
    if host is None:
        fail("no survey host: set PERSONAL_LINKS_SURVEY_HOST=formbricks and the PERSONAL_LINKS_FORMBRICKS_* settings")
    assert host is not None
    return host


@cli.command("install")
@click.option("--survey", "survey_ids", multiple=True, help="A survey to check and register (repeatable).")
@click.option("--public-url", help="The sidecar's public URL the host posts to (default PERSONAL_LINKS_PUBLIC_URL).")
@with_app
def install_command(app: Flask, survey_ids: tuple[str, ...], public_url: str | None) -> None:
    """Check the API key and surveys, register the webhook from manifest.json; safe to run again."""
    done = install.install(db.session, _survey_host(app), manifest(), public_url or app.config["PUBLIC_URL"],
                           survey_ids, state().hidden_field, state().clock.now())
    db.session.commit()
    click.echo(shown(f"API key accepted: workspace {done.workspace}"))
    for survey_id in done.surveys:
        click.echo(shown(f"survey {survey_id}: a link survey with the hidden field {state().hidden_field!r}"))
    verb = "registered" if done.created else "already registered"
    click.echo(shown(f"webhook {done.webhook_id} {verb} at {done.webhook_url} for {', '.join(done.events)}"
                     + (" (its secret is stored)" if done.created else "")))


@cli.command("uninstall")
@click.option("--public-url", help="The public URL install used (default PERSONAL_LINKS_PUBLIC_URL).")
@with_app
def uninstall_command(app: Flask, public_url: str | None) -> None:
    """Remove the webhook install registered on the host."""
    removed = install.uninstall(db.session, _survey_host(app), manifest(), public_url or app.config["PUBLIC_URL"],
                                state().clock.now())
    db.session.commit()
    click.echo(shown(f"removed webhook(s) {', '.join(removed)}") if removed else "no webhook of ours on the host")


MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "info": "info"}


@cli.group("host")
def host_group() -> None:
    """The survey host: what works with it."""


@host_group.command("check")
@click.option("--survey", "survey_ids", multiple=True,
              help="A survey to check (repeatable; default the host's surveys in use: installed or with links).")
@with_app
def host_check_command(app: Flask, survey_ids: tuple[str, ...]) -> None:
    """Report what works with this host and key, each line with what to do; exit 1 when something is missing."""
    report = host_check.check_configured(app, manifest(), state().hidden_field, list(survey_ids) or None,
                                         now=state().clock.now())
    for line in report.lines:
        click.echo(f"[{MARKS[line.status]}] {shown(f'{line.name}: {line.detail}')}")
        if line.todo:
            click.echo(f"       -> {shown(line.todo)}")
    failed = [line.name for line in report.lines if line.status == "fail"]
    click.echo("all needed parts work" if report.ok else shown(f"missing: {', '.join(failed)}"))
    if not report.ok:
        sys.exit(1)
