"""Issuing and revoking personal links."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import click
from flask import Flask

from plugin.cli.base import ACTOR, cli, fail, with_app
from plugin.cli.output import atomic_output, output_option, shown
from plugin.db import db
from plugin.services.host.adapters import survey_host_provider
from plugin.services.links import issuing, links
from plugin.services.links.export import csv_lines
from plugin.state import state
from plugin.tokens import MAX_ID

T = TypeVar("T")


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
@click.option("--renew", is_flag=True, help="Give existing unanswered links the chosen expiry (same URLs).")
@click.option("--reissue", is_flag=True, help="Give contacts whose link was revoked a new link.")
@click.option("--include-suppressed", is_flag=True,
              help="Give a segment's suppressed contacts (bounced, opted out, complained) links too.")
@output_option("The CSV file: a new one (made 0600: it holds bearer links) or a regular file (its mode kept); "
               "written in full or not at all (a temporary file renamed at the end).")
@with_app
def links_issue(app: Flask, survey_id: str, contact_id: str | None, segment_id: str | None, **kw: Any) -> None:
    """Issue links for one contact or a segment and write them as CSV."""
    if bool(contact_id) == bool(segment_id):
        fail("give --contact or --segment (one of them)")
    now = state().clock.now()
    args = {name: str(kw[key]) for name, key in (("expiresOn", "expires_on"), ("expirationDays",
            "expiration_days"), ("validFrom", "valid_from"), ("maxUses", "max_uses")) if kw[key]}
    args.update({flag: "true" for flag in ("rotate", "renew", "reissue") if kw[flag]})
    if kw["include_suppressed"]:
        args["skipSuppressed"] = "false"
    host = survey_host_provider(app)
    with atomic_output(kw["output"]) as out:  # opened first: an unwritable path stops before any link is issued
        if contact_id:
            issued = issuing.issue_contact(db.session, survey_id, contact_id, args, now, ACTOR, host)
        else:
            issued = issuing.issue_segment(db.session, survey_id, str(segment_id), args, now, ACTOR, host)
        db.session.commit()
        with click.progressbar(length=issued.members, label="writing links", file=sys.stderr) as bar:
            batches = _counted(links.iter_batches(db.session, issued.export), bar.update)
            if kw["output"] == "-":  # printed, perhaps to a terminal: its data shown escaped; a file keeps it
                batches = _shown_rows(batches)
            for chunk in csv_lines(batches, state().link_urls(issued.survey.id)):
                out.write(chunk)
    click.echo(issued.report.sentence().replace("Downloaded", "Wrote", 1), err=True)


def _shown_rows(batches: Iterator[Sequence[Any]]) -> Iterator[list[tuple[Any, ...]]]:
    """Export rows (a link id, then the contact's texts) with each text ``shown``."""
    for batch in batches:
        yield [(row[0], *(cell if cell is None else shown(cell) for cell in row[1:])) for row in batch]


def _counted(batches: Iterator[Sequence[T]], progress: Callable[[int], None]) -> Iterator[Sequence[T]]:
    """The batches, telling ``progress`` the size of each (a progress bar moves once per batch, not per row)."""
    for batch in batches:
        progress(len(batch))
        yield batch


@links_group.command("revoke")
@click.argument("link_id", type=click.IntRange(1, MAX_ID))
@with_app
def links_revoke(app: Flask, link_id: int) -> None:
    """Revoke one link by its id; its contact is left out of later downloads until re-issued."""
    links.revoke_link(db.session, link_id, state().clock.now(), ACTOR)
    db.session.commit()
    click.echo(f"revoked link {link_id}: its contact is left out of later downloads of the survey until you "
               f"run 'links reissue {link_id}'")


@links_group.command("reissue")
@click.argument("link_id", type=click.IntRange(1, MAX_ID))
@click.option("--expires-on", help="Last valid day (YYYY-MM-DD); default the revoked link's expiry if ahead.")
@click.option("--expiration-days", help="Days from now until the link ends (1-365).")
@click.option("--max-uses", help="Responses allowed (default the revoked link's).")
@with_app
def links_reissue(app: Flask, link_id: int, **kw: Any) -> None:
    """Give the contact of a revoked link a new link (a new URL), on purpose; prints the URL."""
    args = {name: str(kw[key]) for name, key in (("expiresOn", "expires_on"), ("expirationDays",
            "expiration_days"), ("maxUses", "max_uses")) if kw[key]}
    issued = issuing.reissue_link(db.session, link_id, args, state().clock.now(), ACTOR, survey_host_provider(app))
    db.session.commit()
    row = next(links.iter_link_rows(db.session, issued.rows))
    click.echo(shown(f"link {row.link_id} replaces revoked link {link_id} for contact {row.contact_host_id}: "
                     f"{state().link_url(row.link_id, row.survey_id)}"))
