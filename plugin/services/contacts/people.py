"""Whom the sidecar holds: read-only, paged, searchable listings of contacts and of a segment's members.

A contact's listing state is derived, like a link's: ``deleted`` when the contact source no longer has it,
``suppressed`` when a suppression in force names it or its address (``services.suppressions``), ``active``
otherwise; ``CONTACT_STATES`` and ``contact_state`` are the one place a state is added. Pages are ordered by
the host's contact id; ``after`` (keyset: the last id of the previous page) costs the same on page 1000 as on
page 1, ``skip`` is there for clients that page by offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.sql import ColumnElement

from plugin.db import DbSession
from plugin.errors import InvalidInput
from plugin.models import Contact, Segment, SegmentMember, Suppression
from plugin.services.followup.suppressions import of_contacts, suppressed
from plugin.services.links.links import get_segment
from plugin.services.links.params import parse_choice, parse_page

CONTACT_STATES = ("active", "suppressed", "deleted")
MAX_SEARCH = 200
MAX_LIMIT, DEFAULT_LIMIT = 1000, 50


def contact_state() -> Any:
    """A contact's state as SQL: deleted, else suppressed (``services.suppressions``), else active."""
    return case((Contact.deleted_at.is_not(None), "deleted"),
                (suppressed(Contact.id, Contact.email), "suppressed"), else_="active")


def matches(needle: str, *columns: Any) -> ColumnElement[bool]:
    """Whether any column contains ``needle``, ignoring case; LIKE's wildcards in it are taken literally."""
    pattern = "%" + needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))


@dataclass(frozen=True, slots=True)
class Listing:
    """What a listing asks for: a search, a state, a page (``after`` a contact id, or ``skip``)."""

    search: str = ""
    state: str | None = None
    limit: int = DEFAULT_LIMIT
    skip: int = 0
    after: str | None = None


def parse_listing(args: Mapping[str, str]) -> Listing:
    """A Listing from request or CLI parameters ``q``, ``state``, ``limit``, ``skip``, ``after``."""
    search = (args.get("q") or "").strip()
    if len(search) > MAX_SEARCH:
        raise InvalidInput("q", f"at most {MAX_SEARCH} characters")
    after = args.get("after") or None
    if after is not None and len(after) > 255:
        raise InvalidInput("after", "at most 255 characters (a contact id)")
    limit, skip = parse_page(args, MAX_LIMIT, DEFAULT_LIMIT)
    if after is not None and skip:
        raise InvalidInput("after", "give after or skip, not both")
    return Listing(search, parse_choice("state", args.get("state"), CONTACT_STATES), limit, skip, after)


@dataclass(frozen=True, slots=True)
class ContactEntry:
    """One contact as the listings show it, with the segments it belongs to (id, title)."""

    host_id: str
    custom_id: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    attributes: dict[str, Any]
    state: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    segments: tuple[tuple[str, str], ...]
    suppression: Suppression | None = None  # the oldest suppression in force: why, since when

    @property
    def name(self) -> str:
        """First and last name, as far as known."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)


@dataclass(frozen=True, slots=True)
class ContactPage:
    """A page of contacts: how many match in all, the rows, and the ``after`` of the next page (None: last)."""

    total: int
    rows: list[ContactEntry]
    listing: Listing
    next_after: str | None


def list_contacts(session: DbSession, listing: Listing, segment_id: str | None = None) -> ContactPage:
    """The contacts matching the listing, by contact id; with ``segment_id``, that segment's members only
    (NotFound for an unknown segment). Three statements whatever the page: count, page, the page's segments."""
    state = contact_state()
    query = select(Contact.id, Contact.host_id, Contact.custom_id, Contact.first_name, Contact.last_name,
                   Contact.email, Contact.attributes, state, Contact.created_at, Contact.updated_at,
                   Contact.deleted_at)
    if segment_id is not None:
        segment = get_segment(session, segment_id)
        query = query.where(Contact.id.in_(select(SegmentMember.contact_id)
                                           .where(SegmentMember.segment_id == segment.id)))
    if listing.search:
        full_name = func.coalesce(Contact.first_name, "") + " " + func.coalesce(Contact.last_name, "")
        query = query.where(matches(listing.search, Contact.host_id, Contact.custom_id, Contact.email,
                                    full_name))
    if listing.state:
        query = query.where(state == listing.state)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    if listing.after is not None:
        query = query.where(Contact.host_id > listing.after)
    rows = session.execute(query.order_by(Contact.host_id).limit(listing.limit + 1).offset(listing.skip)).all()
    more, rows = len(rows) > listing.limit, rows[:listing.limit]
    segments = _segments_of(session, [row[0] for row in rows])
    held = of_contacts(session, [(row[0], row.email) for row in rows])
    entries = [ContactEntry(row.host_id, row.custom_id, row.first_name, row.last_name, row.email, row.attributes,
                            row[7], row.created_at, row.updated_at, row.deleted_at, segments.get(row.id, ()),
                            held.get(row[0]))
               for row in rows]
    return ContactPage(total, entries, listing, entries[-1].host_id if more and entries else None)


def _segments_of(session: DbSession, contact_ids: list[int]) -> dict[int, tuple[tuple[str, str], ...]]:
    if not contact_ids:
        return {}
    found: dict[int, list[tuple[str, str]]] = {}
    for contact_id, segment_id, title in session.execute(
            select(SegmentMember.contact_id, Segment.id, Segment.title)
            .join(Segment, Segment.id == SegmentMember.segment_id)
            .where(SegmentMember.contact_id.in_(contact_ids)).order_by(Segment.title, Segment.id)):
        found.setdefault(contact_id, []).append((segment_id, title))
    return {key: tuple(value) for key, value in found.items()}
