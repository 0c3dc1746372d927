"""The jobs themselves: thin wrappers that read settings and call the service functions the CLI calls too.

Each takes the session, the time and the app's config, and returns the counts to record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugin.db import DbSession
from plugin.services.purge import purge

Counts = dict[str, int]
JobFunction = Callable[[DbSession, datetime, Mapping[str, Any]], Counts]


def purge_job(session: DbSession, now: datetime, config: Mapping[str, Any]) -> Counts:
    """Expired tokens, then old link rows, then old inbox deliveries, each after its retention."""
    return purge(session, now, token_days=int(config["TOKEN_RETENTION_DAYS"]),
                 link_days=int(config["LINK_RETENTION_DAYS"]), inbox_days=int(config["INBOX_RETENTION_DAYS"]),
                 actor="scheduler")


@dataclass(frozen=True, slots=True)
class Job:
    """A scheduled job: its fixed id, the setting that gives its interval, and its function."""

    name: str
    interval_setting: str
    function: JobFunction


JOBS: dict[str, Job] = {
    "purge": Job("purge", "PURGE_INTERVAL_SECONDS", purge_job),
}
