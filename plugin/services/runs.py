"""The last host syncs and scheduled runs, for the admin page's activity panel.

Nothing records them yet: the sync and scheduler work fills ``recent_runs`` from their own tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from plugin.db import DbSession


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One sync or scheduled run: what ran, when, how it ended, and its error if it failed."""

    kind: str  # sync | scheduled
    name: str
    started_at: datetime
    finished_at: datetime | None
    status: str  # running | ok | failed
    summary: str = ""
    error: str | None = None


def recent_runs(session: DbSession, limit: int = 10) -> list[RunRecord]:
    """The newest runs first, at most ``limit``; none are recorded yet."""
    return []
