"""Reminder batches made one after another on one survey: the 20th batch against the 1st, on SQLite and PostgreSQL.

Each batch claims ``size`` due contacts; the 1st finds the survey's first contacts free, the 20th finds the first
19 x ``size`` held by the open batches before it. A batch's cost should follow its own size, not the batches before
it, so the baseline is the 1st batch of the same run, on the same database (the best of 3 rounds on each side: a
round makes the 20 batches on a fresh copy of the links). Through the service, in process (what the API's view
calls), each batch in its own transaction, as a request makes it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from bench.http_paths import SECRET_KEY
from plugin import create_app
from plugin.db import db
from plugin.models import ContactMade, ReminderBatch
from plugin.services.followup.reminder_batches import create_batch
from plugin.services.followup.reminders import Cadence
from tests.helpers import postgres_schema

SURVEY = "bench-survey"
BATCHES = 20
ROUNDS = 3


@dataclass(frozen=True)
class Batches:
    """The best seconds of the 1st and of the last batch over the rounds, on one backend."""

    backend: str
    size: int
    count: int
    first: float
    last: float
    contacts: int  # what the last batch claimed (``size`` when enough were due)


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "postgres":
        with postgres_schema("bench_batches") as url:  # the tests' helper: a schema of its own, dropped after
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="bench-batches-") as name:
        yield f"sqlite:///{Path(name) / 'batches.sqlite3'}"


def _seed(contacts: int, now: datetime) -> None:
    """``contacts`` contacts, a link survey, a current link for each."""
    naive = now.replace(tzinfo=None)
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO contacts (id, host_id, email, attributes, source, created_at, updated_at)"
            " VALUES (:id, :host, :email, '{}', 'bench', :now, :now)"),
            [{"id": i, "host": f"contact-{i:07d}", "email": f"person{i}@example.com", "now": naive}
             for i in range(1, contacts + 1)])
        connection.execute(sa.text(
            "INSERT INTO surveys (id, name, public_url, type, status, hidden_field_ids, single_use, source,"
            " created_at, updated_at) VALUES (:id, 'Bench', 'https://forms.example.com/s/b', 'link', 'inProgress',"
            " '[\"plink\"]', false, 'manual', :now, :now)"), {"id": SURVEY, "now": naive})
        connection.execute(sa.text(
            "INSERT INTO links (survey_id, contact_id, created_at, max_uses, use_count, open_count, is_current)"
            " SELECT :survey, id, :now, 1, 0, 0, true FROM contacts ORDER BY id"), {"survey": SURVEY, "now": naive})
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def _round(size: int, count: int, now: datetime) -> tuple[list[float], int]:
    """Make ``count`` batches one after another; each one's seconds, and how many contacts the last claimed."""
    seconds, claimed = [], 0
    for _ in range(count):
        start = time.perf_counter()
        made = create_batch(db.session, SURVEY, Cadence(), now, limit=size, channel="email",
                            timeout=timedelta(minutes=30), actor="bench")
        db.session.commit()
        seconds.append(time.perf_counter() - start)
        claimed = len(made.contacts)
    with db.engine.begin() as connection:  # the next round starts from no batch again
        connection.execute(sa.delete(ContactMade.__table__))
        connection.execute(sa.delete(ReminderBatch.__table__))
    db.session.remove()
    return seconds, claimed


def batches(backend: str, size: int = 1000, count: int = BATCHES) -> Batches:
    """``count`` batches of ``size`` on a survey of ``count * size`` due contacts and as many more."""
    now = datetime.now(UTC)
    with _database(backend) as url:
        app = create_app({"SECRET_KEY": SECRET_KEY, "PUBLIC_URL": "https://l.example.com", "DATABASE_URL": url,
                          "SCHEDULER": "off", "LOG_LEVEL": "WARNING"})
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
            _seed(2 * count * size, now)
            firsts, lasts, claimed = [], [], 0
            for _ in range(ROUNDS):
                seconds, claimed = _round(size, count, now)
                firsts.append(seconds[0])
                lasts.append(seconds[-1])
            db.session.remove()
            db.engine.dispose()
    return Batches(backend, size, count, min(firsts), min(lasts), claimed)


def describe(result: Batches) -> tuple[str, str, str, str, str, str]:
    """A row of bench/RESULTS.md: the last batch against the first (target: within 2x)."""
    ratio = result.last / result.first if result.first else 0.0
    ok = ratio <= 2 and result.contacts == result.size
    return (f"reminder batch of {result.size:,}, {result.count}th vs 1st, {result.backend}",
            f"the {result.count}th within 2x of the 1st", f"{result.count}th batch {result.last * 1000:.0f} ms"
            f" ({result.contacts:,} contacts)", f"1st batch {result.first * 1000:.0f} ms", f"{ratio:.2f}",
            "met" if ok else "**not met**")


if __name__ == "__main__":
    import sys

    batch_size = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for name in sys.argv[2:] or ("sqlite", "postgres"):
        print(" | ".join(describe(batches(name, batch_size))))
