"""Once per period, however many processes and instances: a lease row claimed by a conditional UPDATE.

Every process that wants to run job J for the period starting at P executes
``UPDATE job_leases SET period_start = P ... WHERE job = J AND period_start < P``; the database lets exactly
one of them change the row, and the row count tells each process whether it won. This works the same on
SQLite (several processes on one file) and PostgreSQL (several instances), and unlike a lock it also stops a
second run later in the same period.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

from sqlalchemy import Connection, update

from plugin.db import conflicts
from plugin.models import JobLease, JobRun

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def holder_name() -> str:
    """Who is claiming: host and process id, for the run records."""
    return f"{socket.gethostname()}:{os.getpid()}"


def period_start(now: datetime, interval_seconds: int) -> datetime:
    """The start of the period of ``interval_seconds`` that contains ``now`` (periods align to the epoch)."""
    seconds = int((now - EPOCH).total_seconds())
    return datetime.fromtimestamp(seconds - seconds % interval_seconds, UTC)


def claim(connection: Connection, job: str, period: datetime, holder: str, now: datetime) -> bool:
    """True for exactly one caller per (job, period); commits its own statement through ``connection``."""
    table = JobLease.__table__
    dialect = connection.dialect.name
    values = {"job": job, "period_start": EPOCH, "holder": "", "claimed_at": now}
    connection.execute(conflicts.insert(dialect, table).values(**values).on_conflict_do_nothing(index_elements=["job"]))
    result = connection.execute(
        update(table).where(table.c.job == job, table.c.period_start < period)
        .values(period_start=period, holder=holder, claimed_at=now))
    return result.rowcount == 1


ABANDONED = "abandoned: still running when its lease ended (its process stopped, or lost the database)"


def close_abandoned(connection: Connection, job: str, before: datetime, now: datetime) -> int:
    """Close as failed the job's runs still ``running`` that began before ``before``; how many. A run that does
    end after all records its own end over this one."""
    runs = JobRun.__table__
    return int(connection.execute(update(runs).where(
        runs.c.job == job, runs.c.status == "running", runs.c.started_at < before)
        .values(status="failed", finished_at=now, error=ABANDONED)).rowcount or 0)
