"""Job failures the database could not record, kept in this process's memory for ``/healthz/jobs``.

When the database is down, full or locked, a scheduled run can be neither claimed nor recorded, so the run records
cannot say that the job is failing. Each process remembers, per job, its failures since its last recorded
success (how many, the newest one's time and safe message); the health check adds them to what the records say.
A process knows only its own: where a dedicated ``personal-links scheduler`` runs the jobs, its log says it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from flask import Flask

EXTENSION = "personal_links.job_failures"


@dataclass(frozen=True, slots=True)
class Unrecorded:
    """A job's failures in a row that no run record holds: how many, when the newest was, and its message."""

    count: int
    last_at: datetime
    error: str


class Failures:
    """The unrecorded failures of one app's jobs in this process (the scheduler's threads write, requests read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Unrecorded] = {}

    def add(self, job: str, at: datetime, error: str) -> None:
        """One more failure of ``job`` that could not be recorded."""
        with self._lock:
            before = self._jobs.get(job)
            self._jobs[job] = Unrecorded((before.count if before else 0) + 1, at, error)

    def clear(self, job: str) -> None:
        """``job`` succeeded and the record says so: nothing to add any more."""
        with self._lock:
            self._jobs.pop(job, None)

    def snapshot(self) -> dict[str, Unrecorded]:
        """Each job's unrecorded failures now."""
        with self._lock:
            return dict(self._jobs)


def of(app: Flask) -> Failures:
    """The app's record of unrecorded failures, made on first use."""
    return app.extensions.setdefault(EXTENSION, Failures())  # type: ignore[no-any-return]
