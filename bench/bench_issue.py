"""Benchmark: issuing and exporting a whole segment's links, set-based, against a per-link ORM baseline.

Run: ``.venv/bin/python bench/bench_issue.py [--contacts N] [--postgres URL]``. Both paths run in the same
process on the same freshly filled database, so the ratio is what to read; the absolute numbers depend on the
machine (write them down with it in bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugin import create_app  # noqa: E402
from plugin.clock import FrozenClock  # noqa: E402
from plugin.db import db  # noqa: E402
from plugin.models import AuditEvent, Contact, Link, Segment, SegmentMember, Survey  # noqa: E402
from plugin.services.links import links  # noqa: E402
from plugin.services.links.export import csv_lines  # noqa: E402
from plugin.services.links.params import IssueOptions  # noqa: E402
from plugin.state import state  # noqa: E402
from tests.helpers import NOW  # noqa: E402


def fill(count: int) -> None:
    """``count`` contacts in one segment, and one survey."""
    rows = [{"host_id": f"c{i}", "email": f"p{i}@example.com", "first_name": "F", "last_name": "L",
             "attributes": {}, "source": "bench", "created_at": NOW, "updated_at": NOW} for i in range(count)]
    db.session.execute(sa.insert(Contact), rows)
    db.session.add(Segment(id="all", title="All", kind="static", created_at=NOW, updated_at=NOW))
    db.session.add(Survey(id="s", name="S", public_url="https://f.example/s/s", hidden_field_ids=["plink"],
                          created_at=NOW, updated_at=NOW))
    db.session.flush()
    db.session.execute(sa.insert(SegmentMember).from_select(
        ["segment_id", "contact_id"], sa.select(sa.literal("all"), Contact.id)))
    db.session.commit()


def set_based() -> int:
    """The sidecar's path: one INSERT ... SELECT, one audit INSERT ... SELECT, streamed CSV."""
    survey = db.session.get(Survey, "s")
    members = links.segment_contacts("all")
    links.issue_links(db.session, survey, members, IssueOptions(), NOW, "bench")
    db.session.commit()
    plugin = state()
    batches = links.iter_batches(db.session, links.export_links("s", links.in_segment("all", Link.contact_id)))
    return sum(len(chunk) for chunk in csv_lines(batches, plugin.link_urls("s")))


def per_link_orm() -> int:
    """The naive baseline: an ORM object per link and per audit row, then a CSV row per object."""
    contact_ids = db.session.scalars(links.segment_contacts("all")).all()
    made = []
    for contact_id in contact_ids:
        link = Link(survey_id="s", contact_id=contact_id, created_at=NOW, max_uses=1, is_current=True)
        db.session.add(link)
        made.append(link)
    db.session.flush()
    for link in made:
        db.session.add(AuditEvent(at=NOW, action="issued", actor="bench", link_id=link.id, survey_id="s",
                                  contact_id=link.contact_id))
    db.session.commit()
    plugin = state()
    size = 0
    for link in made:
        contact = db.session.get(Contact, link.contact_id)
        size += len(",".join([contact.host_id, contact.custom_id or "", contact.first_name or "",
                              contact.last_name or "", contact.email or "", plugin.link_url(link.id, "s")]))
    return size


def measure(url: str, count: int, work: Callable[[], int]) -> float:
    app = create_app({"SECRET_KEY": "bench", "PUBLIC_URL": "https://l.example.com", "DATABASE_URL": url})
    app.extensions["personal_links"].clock = FrozenClock(NOW)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        fill(count)
        start = time.perf_counter()
        work()
        elapsed = time.perf_counter() - start
        db.session.remove()
        db.engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} python {platform.python_version()}")
    print(f"contacts in the segment: {args.contacts}")
    for backend in ("sqlite", "postgresql"):
        results = {}
        for name, work in (("set-based", set_based), ("per-link ORM baseline", per_link_orm)):
            with tempfile.TemporaryDirectory() as folder:
                if backend == "sqlite":
                    url = f"sqlite:///{folder}/bench.sqlite3"
                    results[name] = measure(url, args.contacts, work)
                else:
                    schema = f"bench_{secrets.token_hex(4)}"
                    engine = sa.create_engine(args.postgres)
                    with engine.begin() as connection:
                        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
                    try:
                        results[name] = measure(f"{args.postgres}?options=-csearch_path%3D{schema}", args.contacts,
                                                work)
                    finally:
                        with engine.begin() as connection:
                            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
                        engine.dispose()
        fast, slow = results["set-based"], results["per-link ORM baseline"]
        print(f"{backend:10s}  set-based {fast:6.2f} s ({args.contacts / fast:9.0f} links/s)   "
              f"ORM baseline {slow:6.2f} s ({args.contacts / slow:9.0f} links/s)   speed-up x{slow / fast:.1f}")


if __name__ == "__main__":
    main()
