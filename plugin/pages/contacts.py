"""The admin pages that show whom the sidecar holds: the contacts and a segment's members (read-only)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from plugin.db import db
from plugin.models import Segment
from plugin.pages.guard import admin_required, protect
from plugin.services.contacts import people, segments
from plugin.services.links.links import get_segment, member_count

bp = protect(Blueprint("admin_contacts", __name__, url_prefix="/admin"))
PAGE_SIZE = "25"


@bp.get("/contacts")
@admin_required
def list_contacts() -> str:
    """Contacts by id with their segments and state; search, filter by state or segment, next page."""
    segment_id = request.args.get("segment") or None
    segment = get_segment(db.session, segment_id) if segment_id else None
    return _render(segment)


@bp.get("/segments/<segment_id>/members")
@admin_required
def segment_members(segment_id: str) -> str:
    """One segment's members, deleted ones too, with their state."""
    return _render(get_segment(db.session, segment_id), fixed=True)


def _render(segment: Segment | None, fixed: bool = False) -> str:
    listing = people.parse_listing({"limit": PAGE_SIZE, **request.args.to_dict()})
    page = people.list_contacts(db.session, listing, segment.id if segment else None)
    return render_template("admin/contacts.html", page=page, listing=listing, segment=segment, fixed=fixed,
                           members=member_count(db.session, segment.id) if segment else None,
                           segments=segments.public_segments(db.session), states=people.CONTACT_STATES)
