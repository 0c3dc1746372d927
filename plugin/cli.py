"""The ``personal-links`` command: serve, database, API keys, contacts, segments, surveys, links, purge.

Every error is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.serving import run_simple

from adapters.base import AdapterError, SurveyHost
from adapters.csv_file import CsvContactSource
from plugin import create_app, demo
from plugin.config import ConfigError
from plugin.db import db
from plugin.errors import ServiceError
from plugin.jobs.models import JobRun
from plugin.jobs.runner import run_job
from plugin.jobs.scheduler import run_blocking, start_background
from plugin.jobs.tasks import JOBS
from plugin.manifest import manifest
from plugin.models import Contact, Segment, SegmentMember
from plugin.services import api_keys, install, links, local_segments, surveys, sync
from plugin.services.adapters import configured, survey_host_provider
from plugin.services.contacts import import_contacts
from plugin.services.expiry import parse_issue_options
from plugin.services.export import csv_lines
from plugin.services.single_use import attach_single_use_urls
from plugin.state import state

ACTOR = "cli"


def fail(message: str) -> None:
    """Stop with one line on stderr."""
    raise click.ClickException(message)


@contextmanager
def app_context(ctx: click.Context) -> Iterator[Flask]:
    """The app, built from the environment (and --demo), with its context pushed; errors become one line."""
    try:
        app = create_app({"DEMO": True} if ctx.obj.get("demo") else None)
    except ConfigError as exc:
        fail(str(exc))
    with app.app_context():
        try:
            yield app
        except ServiceError as exc:
            db.session.rollback()
            fail(exc.message)
        except AdapterError as exc:
            db.session.rollback()
            fail(exc.message)
        except SQLAlchemyError as exc:
            db.session.rollback()
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            fail(f"database error: {first} (is the database upgraded? run: personal-links db upgrade)")


def with_app(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command inside the app context."""

    @wraps(command)
    @click.pass_context
    def wrapped(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        with app_context(ctx) as app:
            return command(app, *args, **kwargs)

    return wrapped


@click.group()
@click.option("--demo", is_flag=True, help="Demo mode: generated key, bundled contacts, demo survey.")
@click.pass_context
def cli(ctx: click.Context, demo: bool) -> None:
    """Personal survey links for Formbricks and other hosts."""
    ctx.ensure_object(dict)
    ctx.obj["demo"] = demo


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-upgrade", is_flag=True, help="Do not upgrade the database schema at start.")
@with_app
def serve(app: Flask, host: str, port: int, no_upgrade: bool) -> None:
    """Run the sidecar (threaded; use gunicorn for several processes)."""
    if not no_upgrade:
        upgrade(directory=app.extensions["migrate"].directory)
    if app.config["DEMO"]:
        if not os.environ.get("PERSONAL_LINKS_PUBLIC_URL"):  # the demo's links point at this very server
            app.config["PUBLIC_URL"] = state().public_url = f"http://{host}:{port}"
        key = demo.prepare(app)
        if key:
            click.echo(f"Admin API key (shown once, keep it): {key}")
        click.echo(f"Demo survey: {app.config['PUBLIC_URL']}/demo/s/{demo.DEMO_SURVEY}; try:\n"
                   f"  curl -H 'x-api-key: <key>' '{app.config['PUBLIC_URL']}/api/v2/management/surveys/"
                   f"{demo.DEMO_SURVEY}/contact-links/segments/beta-testers'")
    start_background(app)
    click.echo(f"Serving on http://{host}:{port}")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@cli.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@with_app
def db_upgrade(app: Flask) -> None:
    """Upgrade the schema to the newest revision (never loses data)."""
    upgrade(directory=app.extensions["migrate"].directory)
    click.echo("database is up to date")


@cli.group("api-key")
def api_key_group() -> None:
    """Admin API keys."""


@api_key_group.command("create")
@click.argument("name")
@with_app
def api_key_create(app: Flask, name: str) -> None:
    """Make a key; it is shown once and stored only as a hash."""
    row, key = api_keys.create_key(db.session, name, state().clock.now())
    db.session.commit()
    click.echo(f"created key {row.prefix} ({name}); it is shown once, keep it:")
    click.echo(key)


@api_key_group.command("revoke")
@click.argument("prefix")
@with_app
def api_key_revoke(app: Flask, prefix: str) -> None:
    """Revoke a key by its prefix (see: api-key list)."""
    api_keys.revoke_key(db.session, prefix, state().clock.now())
    db.session.commit()
    click.echo(f"revoked key {prefix}")


@api_key_group.command("list")
@with_app
def api_key_list(app: Flask) -> None:
    """List keys (prefix, name, created, last used, revoked)."""
    for row in api_keys.list_keys(db.session):
        click.echo(f"{row.prefix}\t{row.name}\tcreated {row.created_at:%Y-%m-%d}\t"
                   f"last used {row.last_used_at or '-'}\t{'revoked' if row.revoked_at else 'active'}")


@cli.group()
def contacts() -> None:
    """Contacts."""


@contacts.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Contacts missing from the file are deleted (links revoked).")
@with_app
def contacts_import(app: Flask, file: Path, replace: bool) -> None:
    """Import contacts and their segments from a CSV file (see the README for the columns)."""
    source = CsvContactSource(file)
    result = import_contacts(db.session, source.contacts(), source.segments(), state().clock.now(), ACTOR,
                             replace=replace)
    db.session.commit()
    click.echo(f"contacts: {result.added} added, {result.changed} changed, {result.unchanged} unchanged, "
               f"{result.removed} removed; {result.segments} segments")


@cli.group()
def segments() -> None:
    """Segments."""


@segments.command("list")
@with_app
def segments_list(app: Flask) -> None:
    """List segments with their member counts."""
    rows = db.session.execute(
        select(Segment.id, Segment.title, func.count(Contact.id))
        .outerjoin(SegmentMember, SegmentMember.segment_id == Segment.id)
        .outerjoin(Contact, (Contact.id == SegmentMember.contact_id) & Contact.deleted_at.is_(None))
        .group_by(Segment.id, Segment.title).order_by(Segment.title)).all()
    if not rows:
        fail("no segments yet: import a contact file with a 'segments' column first")
    for segment_id, title, count in rows:
        click.echo(f"{segment_id}\t{title}\t{count} contacts")


@cli.group("surveys")
def surveys_group() -> None:
    """Surveys."""


@surveys_group.command("add")
@click.argument("survey_id")
@click.option("--url", "public_url", required=True, help="The survey's public URL on the host.")
@click.option("--name", default=None)
@click.option("--single-use", is_flag=True, help="The survey has single-use links turned on.")
@with_app
def surveys_add(app: Flask, survey_id: str, public_url: str, name: str | None, single_use: bool) -> None:
    """Register a survey by hand."""
    body: dict[str, Any] = {"publicUrl": public_url, "singleUse": single_use}
    if name:
        body["name"] = name
    row = surveys.save_survey(db.session, survey_id, body, state().clock.now(), state().hidden_field)
    db.session.commit()
    click.echo(f"survey {row.id} ({row.name}) -> {row.public_url}")
    for warning in surveys.warnings_for(row, state().hidden_field):
        click.echo(f"warning: {warning}", err=True)


@surveys_group.command("list")
@with_app
def surveys_list(app: Flask) -> None:
    """List known surveys."""
    for row in surveys.list_surveys(db.session):
        click.echo(f"{row.id}\t{row.name}\t{row.type}\t{row.status}\t{row.public_url}")


@cli.group("links")
def links_group() -> None:
    """Personal links."""


@links_group.command("issue")
@click.option("--survey", "survey_id", required=True)
@click.option("--contact", "contact_id", help="One contact (the host's contact id).")
@click.option("--segment", "segment_id", help="A whole segment.")
@click.option("--expires-on", help="Last valid day (YYYY-MM-DD); the link ends at 00:00 UTC the day after.")
@click.option("--expiration-days", help="Days from now until the link ends (1-365).")
@click.option("--valid-from", help="ISO-8601 date or date-time the link opens.")
@click.option("--max-uses", help="Responses allowed per link (default 1).")
@click.option("--rotate", is_flag=True, help="Revoke current links and issue new URLs.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-", show_default=True)
@with_app
def links_issue(app: Flask, survey_id: str, contact_id: str | None, segment_id: str | None, **kw: Any) -> None:
    """Issue links for one contact or a segment and write them as CSV."""
    if bool(contact_id) == bool(segment_id):
        fail("give --contact or --segment (one of them)")
    now = state().clock.now()
    args = {name: str(kw[key]) for name, key in (("expiresOn", "expires_on"), ("expirationDays",
            "expiration_days"), ("validFrom", "valid_from"), ("maxUses", "max_uses")) if kw[key]}
    if kw["rotate"]:
        args["rotate"] = "true"
    options = parse_issue_options(args, now)
    survey = links.get_survey(db.session, survey_id)
    if contact_id:
        chosen = select(Contact.id).where(Contact.id == links.get_contact(db.session, contact_id).id)
        total = 1
    else:
        segment = links.get_segment(db.session, str(segment_id))
        total = links.require_members(db.session, segment)
        chosen = links.segment_contacts(segment.id)
    made = links.issue_links(db.session, survey, chosen, options, now, ACTOR)
    attach_single_use_urls(db.session, survey, now, survey_host_provider(app))
    db.session.commit()
    rows = links.iter_link_rows(db.session, links.current_links(survey.id, chosen, now))
    out = kw["output"]
    plugin = state()
    with click.progressbar(rows, length=total, label="writing links", file=sys.stderr) as bar:
        for chunk in csv_lines(bar, lambda row: plugin.link_url(row.link_id, row.survey_id)):
            out.write(chunk)
    click.echo(f"{total} links written ({made} new)", err=True)


@links_group.command("revoke")
@click.argument("link_id", type=int)
@with_app
def links_revoke(app: Flask, link_id: int) -> None:
    """Revoke one link by its id."""
    links.revoke_link(db.session, link_id, state().clock.now(), ACTOR)
    db.session.commit()
    click.echo(f"revoked link {link_id}")


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


@cli.command()
@with_app
def scheduler(app: Flask) -> None:
    """Run the scheduled jobs in this process (set PERSONAL_LINKS_SCHEDULER=off on the servers then)."""
    click.echo("scheduler running; stop with Ctrl-C")
    run_blocking(app)


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
    for run in db.session.scalars(select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)):
        click.echo(f"{run.started_at:%Y-%m-%d %H:%M:%S}\t{run.job}\t{run.trigger}\t{run.status}\t"
                   f"{run.counts or ''}\t{run.error or ''}")


# -- the survey host: sync, install, uninstall, local segments ------------------------------------------------

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
    click.echo(f"API key accepted: workspace {done.workspace}")
    for survey_id in done.surveys:
        click.echo(f"survey {survey_id}: a link survey with the hidden field {state().hidden_field!r}")
    verb = "registered" if done.created else "already registered"
    click.echo(f"webhook {done.webhook_id} {verb} at {done.webhook_url} for {', '.join(done.events)}"
               + (" (its secret is stored)" if done.created else ""))


@cli.command("uninstall")
@click.option("--public-url", help="The public URL install used (default PERSONAL_LINKS_PUBLIC_URL).")
@with_app
def uninstall_command(app: Flask, public_url: str | None) -> None:
    """Remove the webhook install registered on the host."""
    removed = install.uninstall(db.session, _survey_host(app), manifest(), public_url or app.config["PUBLIC_URL"],
                                state().clock.now())
    db.session.commit()
    click.echo(f"removed webhook(s) {', '.join(removed)}" if removed else "no webhook of ours on the host")


def _value(text: str) -> Any:
    """A filter value as typed: JSON when it parses (numbers, lists, objects), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@segments.command("add-filter")
@click.argument("segment_id")
@click.option("--title", required=True)
@click.option("--json", "json_file", type=click.File("r", encoding="utf-8"),
              help="The filter tree in the host's format (a file, or - for stdin).")
@click.option("--attribute", help="A contact attribute key (userId, email, firstName, lastName or custom).")
@click.option("--operator", help="equals, notEquals, contains, greaterThan, isSet, isOlderThan, ... (see docs).")
@click.option("--value", help="The value: text, a number, or JSON such as '{\"amount\": 30, \"unit\": \"days\"}'.")
@with_app
def segments_add_filter(app: Flask, segment_id: str, title: str, json_file: Any, attribute: str | None,
                        operator: str | None, value: str | None) -> None:
    """Save a local segment (a filter evaluated over the synced contacts) and show its member count."""
    if bool(json_file) == bool(attribute or operator):
        fail("give --json FILE, or --attribute with --operator (and --value)")
    if json_file:
        try:
            filters = json.load(json_file)
        except ValueError as exc:
            fail(f"--json: not JSON: {exc}")
    else:
        if not (attribute and operator):
            fail("give both --attribute and --operator")
        filters = local_segments.attribute_filter(str(attribute), str(operator), _value(value or ""))
    row = local_segments.save_local_segment(db.session, segment_id, {"title": title, "filters": filters},
                                            state().clock.now())
    db.session.commit()
    count = db.session.scalar(select(func.count()).select_from(links.segment_contacts(row.id).subquery()))
    click.echo(f"local segment {row.id} ({row.title}): {count} contacts")


@segments.command("remove")
@click.argument("segment_id")
@with_app
def segments_remove(app: Flask, segment_id: str) -> None:
    """Remove a local segment."""
    local_segments.remove_local_segment(db.session, segment_id)
    db.session.commit()
    click.echo(f"removed local segment {segment_id}")


def main() -> None:
    """Entry point of the console script."""
    cli(obj={})
