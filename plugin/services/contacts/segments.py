"""Segments as the Personal Links tab lists them: public ones, with their live member counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from plugin.db import DbSession
from plugin.models import Contact, Segment, SegmentMember

HOW_TO_CREATE = "create segments first (import a contact file with a 'segments' column, or sync them from the host)"
NO_SEGMENTS = f"No segments available: {HOW_TO_CREATE}"


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """A public segment and how many contacts (not deleted) it holds."""

    id: str
    title: str
    kind: str
    member_count: int


def public_segments(session: DbSession) -> list[SegmentCount]:
    """Every public segment with its live member count, by title."""
    counts = (select(SegmentMember.segment_id, func.count().label("n"))
              .join(Contact, Contact.id == SegmentMember.contact_id).where(Contact.deleted_at.is_(None))
              .group_by(SegmentMember.segment_id).subquery())
    rows = session.execute(
        select(Segment.id, Segment.title, Segment.kind, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.segment_id == Segment.id)
        .where(Segment.is_private.is_(False)).order_by(Segment.title, Segment.id))
    return [SegmentCount(row[0], row[1], row[2], int(row[3])) for row in rows]
