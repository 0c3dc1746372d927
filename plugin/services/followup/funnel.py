"""A survey's funnel and its links as the share page lists them, read from the links table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from plugin.db import DbSession
from plugin.models import Contact, Link
from plugin.services.contacts.people import matches
from plugin.services.followup.suppressions import suppressed_contacts
from plugin.services.links.links import state_expression


@dataclass(frozen=True, slots=True)
class Funnel:
    """How far a survey's links got: issued, opened, started, completed; how many expired or were revoked; and
    how many contacts holding a current link are suppressed (``services.suppressions``: not to be reminded)."""

    issued: int
    opened: int
    started: int
    completed: int
    expired: int
    revoked: int
    suppressed: int = 0

    def steps(self) -> list[tuple[str, int]]:
        """The counts in display order, with their labels."""
        return [("Issued", self.issued), ("Opened", self.opened), ("Started", self.started),
                ("Completed", self.completed), ("Expired", self.expired), ("Revoked", self.revoked),
                ("Suppressed", self.suppressed)]


def funnel(session: DbSession, survey_id: str, now: datetime) -> Funnel:
    """Counts over every link of the survey, current or replaced, in one query."""
    state = state_expression(now)

    def count(condition: Any) -> Any:
        return func.count().filter(condition)

    row = session.execute(
        # an anonymous survey's link keeps no open time, only that it was opened (open_count 1)
        select(func.count(), count(or_(Link.first_opened_at.is_not(None), Link.open_count > 0)),
               count(Link.started_at.is_not(None)),
               count(or_(Link.completed_at.is_not(None), Link.use_count > 0)), count(state == "expired"),
               count(state == "revoked"))
        .where(Link.survey_id == survey_id)).one()
    # a second statement, from the suppressions' side: its cost follows their number, not the survey's links
    held = session.scalar(select(func.count()).select_from(Link).where(
        Link.survey_id == survey_id, Link.is_current.is_(True), Link.contact_id.in_(suppressed_contacts())))
    issued, opened, started, completed, expired, revoked = (int(value or 0) for value in row)
    return Funnel(issued, opened, started, completed, expired, revoked, int(held or 0))


@dataclass(frozen=True, slots=True)
class Day:
    """One UTC day of a survey's funnel: links first opened, first started and completed that day."""

    day: date
    opened: int
    started: int
    completed: int


def daily_funnel(session: DbSession, survey_id: str, now: datetime) -> list[Day]:
    """Opens, starts and completions per UTC day from the day the survey's first link was issued through today.

    A link counts once per step, on the day it first reached it (its first open, the start of its first
    response, its first completed response), so each series adds up to the funnel's count of that step.
    No links: an empty list. An anonymous survey keeps no open times: its opens series is all zeros.
    """
    first = session.scalar(select(func.min(Link.created_at)).where(Link.survey_id == survey_id))
    if first is None:
        return []
    counts: dict[str, dict[date, int]] = {}
    for name, column in (("opened", Link.first_opened_at), ("started", Link.started_at),
                         ("completed", Link.completed_at)):
        day = func.date(column)  # the stored timestamps are UTC; date() is the same on SQLite and PostgreSQL
        rows = session.execute(select(day, func.count()).where(Link.survey_id == survey_id, column.is_not(None))
                               .group_by(day))
        counts[name] = {date.fromisoformat(str(value)[:10]): int(count) for value, count in rows}
    start = min([first.date(), *(day for series in counts.values() for day in series)])
    end = max([now.date(), *(day for series in counts.values() for day in series)])
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    return [Day(day, counts["opened"].get(day, 0), counts["started"].get(day, 0), counts["completed"].get(day, 0))
            for day in days]


@dataclass(frozen=True, slots=True)
class LinkSummary:
    """One link as the share page lists it."""

    link_id: int
    contact_host_id: str
    email: str | None
    name: str
    state: str
    created_at: datetime
    expires_at: datetime | None
    first_opened_at: datetime | None
    is_current: bool
    replaced: bool = False
    contact_deleted: bool = False

    @property
    def held(self) -> bool:
        """A revoked link its contact still holds: the contact is left out of downloads until re-issued."""
        return self.state == "revoked" and self.is_current

    @property
    def note(self) -> str:
        """What became of the link, when its state alone does not say."""
        if self.replaced:
            return "replaced by a newer link"
        if self.held:
            return "left out of downloads until re-issued"
        if self.contact_deleted:
            return "contact deleted"
        return ""


def find_links(session: DbSession, survey_id: str, now: datetime, search: str = "",
               limit: int = 25) -> list[LinkSummary]:
    """The survey's newest links, or those whose contact id, custom id, name or email contains ``search``."""
    state = state_expression(now)
    newer = aliased(Link)
    replaced = exists().where(newer.survey_id == Link.survey_id, newer.contact_id == Link.contact_id,
                              newer.id > Link.id)
    query = (select(Link.id, Contact.host_id, Contact.email, Contact.first_name, Contact.last_name, state,
                    Link.created_at, Link.expires_at, Link.first_opened_at, Link.is_current,
                    and_(~Link.is_current, replaced), Contact.deleted_at.is_not(None))
             .join(Contact, Contact.id == Link.contact_id).where(Link.survey_id == survey_id))
    needle = search.strip()
    if needle:
        full_name = func.coalesce(Contact.first_name, "") + " " + func.coalesce(Contact.last_name, "")
        query = query.where(matches(needle, Contact.host_id, Contact.custom_id, Contact.email, full_name))
    rows = session.execute(query.order_by(Link.id.desc()).limit(limit))
    return [LinkSummary(row[0], row[1], row[2], " ".join(part for part in (row[3], row[4]) if part), row[5],
                        row[6], row[7], row[8], bool(row[9]), bool(row[10]), bool(row[11])) for row in rows]
