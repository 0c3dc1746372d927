"""Contacts made (one by one, or a mailer's send log) and reminder batches (create, confirm, release, show)."""

from __future__ import annotations

import csv
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask

from plugin.cli.base import ACTOR, cli, fail, with_app
from plugin.cli.output import shown
from plugin.db import db
from plugin.services.followup import contacts_made, reminder_batches, reminders, send_log
from plugin.services.followup.reminder_batches import BatchView
from plugin.state import state
from plugin.tokens import MAX_ID


@cli.group("contacts-made")
def made_group() -> None:
    """Invitations and reminders sent (contacts made)."""


@made_group.command("record")
@click.option("--survey", "survey_id", required=True)
@click.option("--contact", "contacts", multiple=True, required=True, help="The host's contact id (repeatable).")
@click.option("--kind", type=click.Choice(contacts_made.KINDS), required=True)
@click.option("--channel", required=True, help="e.g. email, sms, other.")
@click.option("--sent-at", help="ISO-8601 time it was sent (default now).")
@with_app
def made_record(app: Flask, survey_id: str, contacts: tuple[str, ...], kind: str, channel: str,
                sent_at: str | None) -> None:
    """Record that these contacts were sent an invitation or a reminder; all or none."""
    now = state().clock.now()
    entries = [contacts_made.parse_entry(f"--contact {contact}", {
        "contactId": contact, "surveyId": survey_id, "kind": kind, "channel": channel, "sentAt": sent_at}, now)
        for contact in contacts]
    count = contacts_made.record(db.session, entries, now, ACTOR, "cli")
    db.session.commit()
    click.echo(f"recorded {count} contact(s) made")


@made_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--survey", "survey_id", help="The survey of every row (when the file has no survey column).")
@click.option("--kind", type=click.Choice(contacts_made.KINDS), help="The kind of every row without one.")
@click.option("--channel", help="The channel of every row without one.")
@with_app
def made_import(app: Flask, file: Path, survey_id: str | None, kind: str | None, channel: str | None) -> None:
    """Record a mailer's send log (CSV): every row checked, all recorded or none, bad rows named by line."""
    try:
        handle = file.open("rb")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    with handle:
        count = send_log.import_send_log(db.session, handle, state().clock.now(), ACTOR, survey_id=survey_id,
                                         kind=kind, channel=channel)
    db.session.commit()
    click.echo(shown(f"recorded {count} contact(s) made from {file}"))


@cli.group("reminders")
def reminders_group() -> None:
    """Reminder batches: the contacts due now, then confirmed (sent) or released (failed)."""


def _echo_batch(found: BatchView) -> None:
    """The batch's contacts as CSV on stdout; its state in one line on stderr."""
    batch = found.batch
    writer = csv.writer(sys.stdout)
    writer.writerow(["Contact ID", "Email", "First Name", "Last Name", "Personal Link", "Status", "Reminders Sent"])
    for row in found.contacts:
        url = state().link_url(row.link_id, batch.survey_id) if row.link_id is not None else ""
        writer.writerow([shown(cell or "") for cell in (row.contact_host_id, row.email, row.first_name,
                                                        row.last_name, url, row.status)] + [row.reminders_sent])
    counts = ", ".join(f"{name} {count}" for name, count in found.counts().items())
    click.echo(shown(f"batch {batch.id} of survey {batch.survey_id}: {batch.status} ({counts}); open until "
                     f"{batch.expires_at:%Y-%m-%d %H:%M} UTC"), err=True)


@reminders_group.command("create")
@click.option("--survey", "survey_id", required=True)
@click.option("--min-gap-hours", help="Hours since the last invitation or reminder, at least.")
@click.option("--max-reminders", help="Reminders sent so far, fewer than this.")
@click.option("--stopped", is_flag=True, help="Only those who started and did not finish.")
@click.option("--limit", type=click.IntRange(1, reminder_batches.MAX_BATCH), default=100, show_default=True)
@click.option("--channel", default="email", show_default=True)
@click.option("--segment", "segment_id", help="Only contacts of this segment.")
@with_app
def batch_create(app: Flask, survey_id: str, min_gap_hours: str | None, max_reminders: str | None, stopped: bool,
                 limit: int, channel: str, segment_id: str | None) -> None:
    """Claim the contacts due now as a batch; prints them with their links (CSV). Confirm or release it after."""
    cadence = reminders.parse_cadence({"minGapHours": min_gap_hours, "maxReminders": max_reminders,
                                       "stopped": stopped})
    timeout = timedelta(minutes=int(app.config["REMINDER_BATCH_TIMEOUT_MINUTES"]))
    found = reminder_batches.create_batch(db.session, survey_id, cadence, state().clock.now(), limit=limit,
                                          channel=channel, timeout=timeout, actor=ACTOR, segment_id=segment_id)
    db.session.commit()
    _echo_batch(found)


@reminders_group.command("confirm")
@click.argument("batch_id", type=click.IntRange(1, MAX_ID))
@click.option("--sent", "sent", multiple=True, help="Only this contact's send succeeded (repeatable).")
@with_app
def batch_confirm(app: Flask, batch_id: int, sent: tuple[str, ...]) -> None:
    """The batch's sends happened (all, or those given with --sent; the others are released)."""
    batch = reminder_batches.get_batch(db.session, batch_id)
    found = reminder_batches.confirm(db.session, batch, state().clock.now(), list(sent) if sent else None)
    db.session.commit()
    _echo_batch(found)


@reminders_group.command("release")
@click.argument("batch_id", type=click.IntRange(1, MAX_ID))
@with_app
def batch_release(app: Flask, batch_id: int) -> None:
    """The batch's sends failed: its contacts are due again."""
    found = reminder_batches.release(db.session, reminder_batches.get_batch(db.session, batch_id),
                                     state().clock.now())
    db.session.commit()
    _echo_batch(found)


@reminders_group.command("show")
@click.argument("batch_id", type=click.IntRange(1, MAX_ID))
@with_app
def batch_show(app: Flask, batch_id: int) -> None:
    """A batch's state and contacts."""
    _echo_batch(reminder_batches.view(db.session, reminder_batches.get_batch(db.session, batch_id)))
