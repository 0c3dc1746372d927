"""Listing whom the sidecar holds: ``contacts list`` and ``segments members`` (the API's listings, as text)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask import Flask

from plugin.cli.base import with_app
from plugin.cli.directory import contacts, segments
from plugin.cli.output import fields
from plugin.db import db
from plugin.services.contacts import people
from plugin.services.links.links import get_segment


def _listing_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("-q", "--search", default="", help="Contact id, custom id, name or email contains this."),
        click.option("--state", help=f"Only contacts in this state ({', '.join(people.CONTACT_STATES)})."),
        click.option("--limit", default=str(people.DEFAULT_LIMIT), show_default=True,
                     help=f"Rows per page (1-{people.MAX_LIMIT})."),
        click.option("--after", help="The contact id after which the page starts (printed as the next page)."),
        click.option("--skip", help="Rows to skip (offset paging; not with --after)."),
    ]):
        command = option(command)
    return command


def _listing(kw: dict[str, Any]) -> people.Listing:
    return people.parse_listing({name: str(kw[key]) for name, key in (
        ("q", "search"), ("state", "state"), ("limit", "limit"), ("after", "after"), ("skip", "skip")) if kw[key]})


def _print(page: people.ContactPage, what: str) -> None:
    for row in page.rows:
        segment_ids = ",".join(segment_id for segment_id, _ in row.segments)
        click.echo(fields(row.host_id, row.name or None, row.email or None, row.state, segment_ids or None))
    start = page.listing.skip + 1 if page.rows else 0
    tail = f"; next page: --after {page.next_after}" if page.next_after else ""
    after = f" after {page.listing.after}" if page.listing.after else ""
    click.echo(f"{len(page.rows)} of {page.total} {what}{after}" + (f" from {start}" if page.listing.skip else "")
               + tail, err=True)


@contacts.command("list")
@_listing_options
@click.option("--segment", "segment_id", help="Members of this segment only.")
@with_app
def contacts_list(app: Flask, segment_id: str | None, **kw: Any) -> None:
    """List contacts by id: id, name, email, state, segments (tab-separated); search and page."""
    _print(people.list_contacts(db.session, _listing(kw), segment_id or None), "contacts")


@segments.command("members")
@click.argument("segment_id")
@_listing_options
@with_app
def segments_members(app: Flask, segment_id: str, **kw: Any) -> None:
    """List a segment's members (deleted ones too, with their state); search and page like contacts list."""
    segment = get_segment(db.session, segment_id)
    _print(people.list_contacts(db.session, _listing(kw), segment.id), f"members of {segment.title!r}")
