"""What links are made for: API keys, contacts, segments (static and local), surveys."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from flask import Flask
from sqlalchemy import func, select

from adapters.base import Contact as SourceContact
from adapters.csv_file import CsvContactSource
from plugin.cli.base import ACTOR, cli, fail, with_app
from plugin.cli.output import fields, shown
from plugin.db import db
from plugin.services.admin import api_keys
from plugin.services.contacts import local_segments
from plugin.services.contacts import segments as segments_service
from plugin.services.contacts.contact_file import import_file
from plugin.services.host import surveys
from plugin.services.links import links
from plugin.services.text import check_tree
from plugin.state import state


@cli.group("api-key")
def api_key_group() -> None:
    """Admin API keys."""


@api_key_group.command("create")
@click.argument("name")
@with_app
def api_key_create(app: Flask, name: str) -> None:
    """Make a key named NAME (what it is for, 1-255 characters); it is shown once and stored only as a hash."""
    row, key = api_keys.create_key(db.session, name, state().clock.now())
    db.session.commit()
    click.echo(f"created key {row.prefix} ({shown(row.name)}); it is shown once, keep it:")
    click.echo(key)


@api_key_group.command("revoke")
@click.argument("prefix")
@with_app
def api_key_revoke(app: Flask, prefix: str) -> None:
    """Revoke a key by its prefix (see: api-key list)."""
    api_keys.revoke_key(db.session, prefix, state().clock.now())
    db.session.commit()
    click.echo(shown(f"revoked key {prefix}"))


@api_key_group.command("list")
@with_app
def api_key_list(app: Flask) -> None:
    """List keys (prefix, name, created, last used, revoked)."""
    for row in api_keys.list_keys(db.session):
        click.echo(fields(row.prefix, row.name, f"created {row.created_at:%Y-%m-%d}",
                          f"last used {row.last_used_at or '-'}", "revoked" if row.revoked_at else "active"))


@cli.group()
def contacts() -> None:
    """Contacts."""


@contacts.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Contacts missing from the file are deleted (links revoked).")
@with_app
def contacts_import(app: Flask, file: Path, replace: bool) -> None:
    """Import contacts and their segments from a CSV file (see docs/contacts.md for the columns)."""
    source = CsvContactSource(file)  # read as a stream, in batches: memory stays flat however long the file
    lines = source.line_count()

    def read(label: str) -> Iterator[SourceContact]:
        with click.progressbar(source.contacts(), length=lines, label=label, file=sys.stderr,
                               hidden=not sys.stderr.isatty()) as contacts:  # errors stay one line
            yield from contacts

    try:
        result = import_file(db.session, read, source.segments, state().clock.now(), ACTOR, replace=replace,
                             text_checked=source.text_checked)
    except KeyboardInterrupt as exc:  # what was written, and how to finish it, rather than click's "Aborted!"
        fail("; ".join(["interrupted", *getattr(exc, "__notes__", ())]))
    click.echo(f"contacts: {result.added} added, {result.changed} changed, {result.unchanged} unchanged, "
               f"{result.removed} removed; {result.segments} segments")


@cli.group()
def segments() -> None:
    """Segments."""


@segments.command("list")
@with_app
def segments_list(app: Flask) -> None:
    """List public segments with their member counts (as the admin page and API list them)."""
    rows = segments_service.public_segments(db.session)
    if not rows:
        fail(segments_service.NO_SEGMENTS)
    for row in rows:
        click.echo(fields(row.id, row.title, row.kind, f"{row.member_count} contacts"))


@cli.group("surveys")
def surveys_group() -> None:
    """Surveys."""


@surveys_group.command("add")
@click.argument("survey_id")
@click.option("--url", "public_url", required=True, help="The survey's public URL on the host.")
@click.option("--name", default=None)
@click.option("--single-use", is_flag=True, help="The survey has single-use links turned on.")
@click.option("--language", default=None,
              help="The language of its respondent pages (en or de, or a tag of one such as de-AT); default: the "
                   "respondent's browser's.")
@with_app
def surveys_add(app: Flask, survey_id: str, public_url: str, name: str | None, single_use: bool,
                language: str | None) -> None:
    """Register a survey by hand."""
    body: dict[str, Any] = {"publicUrl": public_url, "singleUse": single_use}
    if name:
        body["name"] = name
    if language is not None:
        body["language"] = language
    row = surveys.save_survey(db.session, survey_id, body, state().clock.now(), state().hidden_field)
    db.session.commit()
    click.echo(shown(f"survey {row.id} ({row.name}) -> {row.public_url}"))
    for warning in surveys.warnings_for(row, state().hidden_field):
        click.echo(shown(f"warning: {warning}"), err=True)


@surveys_group.command("list")
@with_app
def surveys_list(app: Flask) -> None:
    """List known surveys."""
    for row in surveys.list_surveys(db.session):
        click.echo(fields(row.id, row.name, row.type, row.status, row.public_url))



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
        if value is None and operator not in ("isSet", "isNotSet"):
            fail(f"--value: required with --operator {operator} (only isSet and isNotSet take none)")
        filters = local_segments.attribute_filter(str(attribute), str(operator), _value(value or ""))
    check_tree(filters, "--json" if json_file else "--value")  # JSON escapes can spell what arguments cannot
    row = local_segments.save_local_segment(db.session, segment_id, {"title": title, "filters": filters},
                                            state().clock.now())
    db.session.commit()
    count = db.session.scalar(select(func.count()).select_from(links.segment_contacts(row.id).subquery()))
    click.echo(shown(f"local segment {row.id} ({row.title}): {count} contacts"))


@segments.command("remove")
@click.argument("segment_id")
@with_app
def segments_remove(app: Flask, segment_id: str) -> None:
    """Remove a local segment."""
    local_segments.remove_local_segment(db.session, segment_id)
    db.session.commit()
    click.echo(shown(f"removed local segment {segment_id}"))
