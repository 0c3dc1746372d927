"""``suppressions add | list | remove | import``: contacts and addresses not to be reminded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Flask

from plugin.cli.base import ACTOR, cli, fail, with_app
from plugin.cli.output import fields, shown
from plugin.db import db
from plugin.services.contacts.import_turns import writes_for
from plugin.services.followup import suppressions
from plugin.services.followup.suppression_import import MAX_FILE_BYTES, BadRows, import_csv
from plugin.services.links.params import parse_choice, parse_int
from plugin.state import state
from plugin.tokens import MAX_ID


@cli.group("suppressions")
def suppressions_group() -> None:
    """Suppressions: bounces, opt-outs and complaints (left out of non-respondents and segment downloads)."""


def _line(item: suppressions.Listed) -> str:
    row = item.row
    removed = f"removed {row.removed_at:%Y-%m-%d} by {row.removed_by}" if row.removed_at else "in force"
    return fields(row.id, item.contact_host_id or None, row.email or None, row.reason, f"{row.at:%Y-%m-%d %H:%M}",
                  removed, row.note or "")


@suppressions_group.command("add")
@click.option("--contact", "contact_id", help="The host's contact id (its address is recorded too).")
@click.option("--email", help="An address (stored lower-cased).")
@click.option("--reason", required=True, help=f"One of {', '.join(suppressions.REASONS)}.")
@click.option("--note", help=f"A free note (at most {suppressions.MAX_NOTE} characters).")
@click.option("--at", help="When it happened (ISO-8601 date or date-time; default now).")
@with_app
def suppressions_add(app: Flask, **kw: Any) -> None:
    """Suppress a contact or an address."""
    given = {"contactId": kw["contact_id"], "email": kw["email"], "reason": kw["reason"], "note": kw["note"],
             "at": kw["at"]}
    now = state().clock.now()
    row, new = suppressions.add(db.session, suppressions.entry(db.session, given, now), now, ACTOR)
    db.session.commit()
    click.echo(("suppressed: " if new else "already suppressed: ") + _line(suppressions.listed(db.session,
                                                                                                [row])[0]))


@suppressions_group.command("list")
@click.option("--contact", "contact_id", help="Of this contact (by its row or its address).")
@click.option("--email")
@click.option("--reason", help=f"One of {', '.join(suppressions.REASONS)}.")
@click.option("--removed", is_flag=True, help="Lifted suppressions too.")
@click.option("--limit", default="100", show_default=True, help="Rows per page (1-1000).")
@click.option("--after", help="The id after which the page starts (printed as the next page).")
@with_app
def suppressions_list(app: Flask, contact_id: str | None, email: str | None, reason: str | None, removed: bool,
                      limit: str, after: str | None) -> None:
    """List suppressions: id, contact, email, reason, at, state, note (tab-separated)."""
    rows, next_cursor = suppressions.list_suppressions(
        db.session, host_id=contact_id or None, email=email or None,
        reason=parse_choice("--reason", reason, suppressions.REASONS), removed=removed,
        limit=parse_int("--limit", limit, 1, 1000, 100), after=parse_int("--after", after, 0, MAX_ID))
    for item in rows:
        click.echo(_line(item))
    click.echo(f"{len(rows)} suppressions" + (f"; next page: --after {next_cursor}" if next_cursor else ""),
               err=True)


@suppressions_group.command("remove")
@click.argument("suppression_id", required=False, type=click.IntRange(1, MAX_ID))
@click.option("--contact", "contact_id", help="Every suppression in force of this contact.")
@click.option("--email", help="Every suppression in force of this address.")
@with_app
def suppressions_remove(app: Flask, suppression_id: int | None, contact_id: str | None, email: str | None) -> None:
    """Lift a suppression by id, or those of a contact or address (the rows stay, with who and when)."""
    if (suppression_id is None) == (not contact_id and not email):
        fail("give a suppression id, or --contact or --email")
    now = state().clock.now()
    if suppression_id is not None:
        lifted = [suppressions.remove(db.session, suppression_id, now, ACTOR)]
    else:
        lifted = suppressions.remove_matching(db.session, {"contactId": contact_id, "email": email}, now, ACTOR)
    db.session.commit()
    for item in suppressions.listed(db.session, lifted):
        click.echo(_line(item))
    click.echo(f"lifted {len(lifted)} suppression{'' if len(lifted) == 1 else 's'}", err=True)


@suppressions_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_app
def suppressions_import(app: Flask, file: Path) -> None:
    """Suppressions from a CSV file: contactId and/or email, reason, at, note (bad rows: nothing stored)."""
    try:
        handle = file.open("rb")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    with handle:
        try:
            result = import_csv(db.session, handle, state().clock.now(), ACTOR, MAX_FILE_BYTES,
                                writes_for(db.session))  # on SQLite, batches the server's writers come between
        except BadRows as exc:
            db.session.rollback()
            for detail in exc.details:
                click.echo(shown(f"{file}: {detail['field']}: {detail['issue']}"), err=True)
            fail(exc.message)
        except KeyboardInterrupt as exc:  # what was stored, and how to finish it, rather than click's "Aborted!"
            db.session.rollback()
            fail("; ".join(["interrupted", *getattr(exc, "__notes__", ())]))
    db.session.commit()
    click.echo(f"suppressions: {result.added} added, {result.already} already in force")
