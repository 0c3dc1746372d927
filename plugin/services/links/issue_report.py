"""What an issuing run did to the links the contacts already held: new, renewed, kept (and until when), and
revoked contacts left out. Read with one grouped query before issuing, so a segment of a million costs one more
statement, not a million."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.sql import ColumnElement

from plugin.clock import iso
from plugin.db import DbSession
from plugin.models import Link
from plugin.services.links.links import expiry_differs, state_expression
from plugin.services.links.params import IssueOptions


@dataclass(frozen=True, slots=True)
class StateGroup:
    """The current links in one state among the chosen contacts: how many, their expiry range, how many never end,
    how many end other than at the chosen expiry (renewing would change those)."""

    count: int
    first_expiry: datetime | None
    last_expiry: datetime | None
    without_expiry: int
    other_expiry: int = 0


def current_states(session: DbSession, survey_id: str, held: ColumnElement[bool],
                   now: datetime, expires_at: datetime | None = None) -> dict[str, StateGroup]:
    """The current links to the survey of the contacts ``held`` chooses (``links.among``, ``links.in_segment``),
    grouped by state (one statement); ``expires_at`` is the expiry chosen for this run."""
    link_state = state_expression(now)
    rows = session.execute(
        select(link_state, func.count(), func.min(Link.expires_at), func.max(Link.expires_at),
               func.count() - func.count(Link.expires_at), func.count().filter(expiry_differs(expires_at)))
        .where(Link.survey_id == survey_id, Link.is_current == true(), held)
        .group_by(link_state))
    return {row[0]: StateGroup(int(row[1]), row[2], row[3], int(row[4] or 0), int(row[5] or 0)) for row in rows}


@dataclass(frozen=True, slots=True)
class IssueReport:
    """What one issuing run gave the chosen contacts.

    ``new``: links made now (with the chosen options); ``reissued``: of those, how many replaced a revoked link;
    ``renewed``: existing unanswered links given the chosen expiry (same URL); ``kept``: existing links left as they
    were, with their expiry range (``kept_without_expiry`` never end); ``renewable``: how many of the kept ones
    ``renew`` would change; ``revoked_left_out``: contacts whose link was revoked, left out of the download until
    an admin re-issues on purpose; ``suppressed_skipped``: a segment's suppressed contacts left out (no link
    made, none downloaded; ``skipSuppressed=false`` includes them), counted over the whole segment.
    """

    new: int = 0
    reissued: int = 0
    renewed: int = 0
    kept: int = 0
    kept_first_expiry: datetime | None = None
    kept_last_expiry: datetime | None = None
    kept_without_expiry: int = 0
    renewable: int = 0
    revoked_left_out: int = 0
    expires_at: datetime | None = None
    suppressed_skipped: int = 0

    @property
    def downloaded(self) -> int:
        """How many links the contacts hold after the run (the rows of a download)."""
        return self.new + self.renewed + self.kept

    def as_json(self) -> dict[str, Any]:
        """The report as the JSON endpoints' ``meta.issued`` shows it."""
        return {"links": self.downloaded, "new": self.new, "reissued": self.reissued, "renewed": self.renewed,
                "kept": self.kept, "keptExpiresFirst": iso(self.kept_first_expiry),
                "keptExpiresLast": iso(self.kept_last_expiry), "keptWithoutExpiry": self.kept_without_expiry,
                "renewable": self.renewable, "revokedLeftOut": self.revoked_left_out,
                "expiresAt": iso(self.expires_at), "suppressedSkipped": self.suppressed_skipped,
                "summary": self.summary()}

    def headers(self) -> dict[str, str]:
        """The report as response headers of a streamed CSV (documented in docs/api.md)."""
        return {"X-Link-Count": str(self.downloaded), "X-Links-New": str(self.new),
                "X-Links-Reissued": str(self.reissued), "X-Links-Renewed": str(self.renewed),
                "X-Links-Kept": str(self.kept), "X-Links-Kept-Expires-First": iso(self.kept_first_expiry) or "",
                "X-Links-Kept-Expires-Last": iso(self.kept_last_expiry) or "",
                "X-Links-Kept-Without-Expiry": str(self.kept_without_expiry),
                "X-Links-Renewable": str(self.renewable), "X-Links-Revoked-Left-Out": str(self.revoked_left_out),
                "X-Links-Suppressed-Skipped": str(self.suppressed_skipped), "X-Links-Summary": self.summary()}

    def summary(self) -> str:
        """One ASCII line: "2 new, 1 kept their existing link (valid through 2026-12-31), ..."."""
        parts = [f"{self.new} new"]
        if self.reissued:
            parts[0] += f" ({self.reissued} re-issued after a revocation)"
        if self.renewed:
            parts.append(f"{self.renewed} renewed to the new expiry ({_validity(self.expires_at)}), same URL")
        if self.kept:
            parts.append(f"{self.kept} kept {'its' if self.kept == 1 else 'their'} existing link ({self._kept()})")
        if self.revoked_left_out:
            parts.append(f"{self.revoked_left_out} left out because {'its' if self.revoked_left_out == 1 else 'their'}"
                         " link was revoked (re-issue to include)")
        if self.suppressed_skipped:
            parts.append(f"{self.suppressed_skipped} skipped because suppressed (bounce, opt-out or complaint)")
        return ", ".join(parts)

    def sentence(self) -> str:
        """"Downloaded N links: <summary>", as the page and the command line say it."""
        return f"Downloaded {self.downloaded} link{'' if self.downloaded == 1 else 's'}: {self.summary()}"

    def _kept(self) -> str:
        if self.kept_without_expiry == self.kept:
            return "no expiry"
        first, last = self.kept_first_expiry, self.kept_last_expiry
        text = _validity(first) if first == last else f"expiring between {_moment(first)} and {_moment(last)}"
        if self.kept_without_expiry:
            text += f"; {self.kept_without_expiry} without expiry"
        return text


def build_report(before: dict[str, StateGroup], options: IssueOptions, made: int, renewed: int) -> IssueReport:
    """The report of a run, from the states before it, the options, and the counts it made."""
    revoked = before.get("revoked", StateGroup(0, None, None, 0)).count
    if options.rotate:
        return IssueReport(new=made, reissued=revoked, expires_at=options.expires_at)
    open_groups = [before[name] for name in ("live", "pending") if name in before]
    kept = [before[name] for name in (("used",) if options.renew else ("live", "pending", "used")) if name in before]
    same = sum(group.count - group.other_expiry for group in open_groups)
    if options.renew and same:  # unanswered links already ending at the chosen expiry: kept as they are
        kept.append(StateGroup(same, options.expires_at, options.expires_at, same if options.expires_at is None else 0))
    firsts = [group.first_expiry for group in kept if group.first_expiry is not None]
    lasts = [group.last_expiry for group in kept if group.last_expiry is not None]
    renewable = 0 if options.renew else sum(group.other_expiry for group in open_groups)
    return IssueReport(
        new=made, reissued=revoked if options.reissue else 0, renewed=renewed,
        kept=sum(group.count for group in kept), kept_first_expiry=min(firsts, default=None),
        kept_last_expiry=max(lasts, default=None), kept_without_expiry=sum(group.without_expiry for group in kept),
        renewable=renewable, revoked_left_out=0 if options.reissue else revoked, expires_at=options.expires_at)


def _moment(at: datetime | None) -> str:
    if at is None:
        return "never"
    if at.time() == time(0):
        return (at - timedelta(days=1)).date().isoformat()  # a chosen day ends at 00:00 UTC the day after
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _validity(at: datetime | None) -> str:
    if at is None:
        return "no expiry"
    if at.time() == time(0):
        return f"valid through {_moment(at)}"
    return f"valid until {_moment(at)}"
