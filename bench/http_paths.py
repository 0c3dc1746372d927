"""Benchmarks of the hot HTTP paths against a hello-world Flask app on the same gunicorn settings.

A click (``GET /c/<token>``, 302) and a webhook (a signed ``responseFinished``), each at the maximum rate
and at half of it (wrk pacing its connections, for the p99); then the database is read to prove that nothing
was lost: every answered click is one recorded open, every answered delivery one applied row and attribution.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from bench.load import ROOT, ROUNDS, Load, best, gunicorn, wrk
from plugin import create_app
from plugin.db import db
from plugin.models import Contact, Link, ResponseAttribution, Segment, SegmentMember, Survey
from plugin.services.links import links
from plugin.services.links.params import IssueOptions
from plugin.state import state
from tests.helpers import postgres_schema
from webhooks.models import InboxDelivery
from webhooks.signature import sign

SECRET = "whsec_" + "YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldC1iZW5jaC0xMjM="  # base64 of 32 bench bytes
SECRET_KEY = "bench-secret-key-" + "x" * 32
SURVEY = "bench-survey"
SCRIPT = ROOT / "bench" / "paths.lua"


@dataclass(frozen=True)
class PathResult:
    """One path: ours and the baseline at the maximum rate, ours at half of it, what the database holds."""

    name: str
    ours: Load
    baseline: Load
    half: Load
    answered: int  # 2xx/3xx answers to our server
    recorded: int  # what the database recorded for them


def env_for(url: str) -> dict[str, str]:
    return {"PERSONAL_LINKS_SECRET_KEY": SECRET_KEY, "PERSONAL_LINKS_PUBLIC_URL": "https://links.example.com",
            "PERSONAL_LINKS_DATABASE_URL": url, "PERSONAL_LINKS_SCHEDULER": "off",
            "PERSONAL_LINKS_WEBHOOK_SECRETS": SECRET, "PERSONAL_LINKS_LOG_LEVEL": "WARNING"}


@contextmanager
def database(backend: str) -> Iterator[str]:
    """An empty database of the backend: a SQLite file, or a PostgreSQL schema dropped after."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
        return
    with postgres_schema("bench") as url:  # the tests' helper: a schema of its own, dropped after
        yield url


def prepare(url: str, count: int) -> list[str]:
    """A migrated database with ``count`` contacts, each holding a live link of one survey; their tokens."""
    app = create_app({"SECRET_KEY": SECRET_KEY, "PUBLIC_URL": "https://links.example.com", "DATABASE_URL": url,
                      "SCHEDULER": "off"})
    now = datetime.now(UTC)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.session.execute(sa.insert(Contact), [
            {"host_id": f"c{i}", "email": f"p{i}@example.com", "first_name": "F", "last_name": "L",
             "attributes": {}, "source": "bench", "created_at": now, "updated_at": now} for i in range(count)])
        db.session.add(Segment(id="all", title="All", kind="static", created_at=now, updated_at=now))
        db.session.add(Survey(id=SURVEY, name="Bench", public_url="https://forms.example.com/s/bench",
                              hidden_field_ids=["plink"], created_at=now, updated_at=now))
        db.session.flush()
        db.session.execute(sa.insert(SegmentMember).from_select(
            ["segment_id", "contact_id"], sa.select(sa.literal("all"), Contact.id)))
        links.issue_links(db.session, db.session.get(Survey, SURVEY), links.segment_contacts("all"),
                          IssueOptions(max_uses=1000000), now, "bench")
        db.session.commit()
        tokens = [state().tokens.make(link_id, SURVEY) for link_id in db.session.scalars(sa.select(Link.id))]
        db.session.remove()
        db.engine.dispose()
    settle(url)
    return tokens


def settle(url: str) -> None:
    """The database at rest, as a server's is between mailings: the bulk load's log written back to the file
    (SQLite) or its dirty pages checkpointed and the tables vacuumed and analysed, as autovacuum would
    (PostgreSQL). Otherwise the first runs pay for the load (measured: 423 then 842 req/s over five runs)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("VACUUM ANALYZE")
            connection.exec_driver_sql("CHECKPOINT")
        else:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


def _write(lines: list[str]) -> Path:
    handle = tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, encoding="utf-8")
    with handle:
        handle.write("\n".join(lines) + "\n")
    return Path(handle.name)


def deliveries(tokens: list[str]) -> list[str]:
    """One signed ``responseFinished`` per token, shaped like the captured deliveries, as request lines."""
    lines = []
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    timestamp = int(datetime.now(UTC).timestamp())
    for number, token in enumerate(tokens):
        body = json.dumps({"webhookId": "bench-hook", "event": "responseFinished", "data": {
            "id": f"resp-{number}", "createdAt": stamp, "updatedAt": stamp, "surveyId": SURVEY, "contact": None,
            "finished": True, "data": {"q1": "an answer", "plink": token},
            "meta": {"url": "https://forms.example.com/s/bench"}, "singleUseId": None}}, separators=(",", ":"))
        webhook_id = f"msg_bench_{number}"
        headers = (f"Content-Type: application/json|webhook-id: {webhook_id}|webhook-timestamp: {timestamp}|"
                   f"webhook-signature: {sign(webhook_id, timestamp, body.encode(), SECRET)}")
        lines.append(f"POST\t/webhooks/formbricks\t{headers}\t{body}")
    return lines


def _count(url: str, statement: sa.Select) -> int:  # type: ignore[type-arg]
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(statement).scalar_one()
    engine.dispose()
    return int(value or 0)


def alternate(base: str, ours: str, base_env: list[dict[str, str]], ours_env: list[dict[str, str]]
              ) -> tuple[Load, Load]:
    """The best of ``ROUNDS`` maximum-rate runs on each server, the two servers taking turns (baseline, ours,
    baseline...): a slower spell of the machine (another guest on its host, say) falls on both sides alike.
    The idle server waits on its sockets and costs nothing meanwhile."""
    runs: tuple[list[Load], list[Load]] = ([], [])
    for base_round, ours_round in zip(base_env, ours_env, strict=True):
        runs[0].append(wrk(base, SCRIPT, base_round))
        runs[1].append(wrk(ours, SCRIPT, ours_round))
    return best(runs[0]), best(runs[1])


def click(backend: str = "sqlite", links_count: int = 2000) -> PathResult:
    """``GET /c/<token>`` against the hello-world 302."""
    with database(backend) as url:
        tokens = prepare(url, links_count)
        requests = _write([f"GET\t/c/{token}\t\t" for token in tokens])
        env = {"BENCH_REQUESTS": str(requests), "BENCH_THREADS": "2"}
        with gunicorn("bench.hello:app", env_for(url)) as base, gunicorn("plugin.wsgi:app", env_for(url)) as ours_url:
            baseline, ours = alternate(base, ours_url, [env] * ROUNDS, [env] * ROUNDS)
            half = wrk(ours_url, SCRIPT, env, connections=4, rate=ours.rate / 2)
        requests.unlink()
        recorded = _count(url, sa.select(sa.func.sum(Link.open_count)))
    return PathResult(f"GET /c/<token> (302), {backend}", ours, baseline, half, ours.answered + half.answered,
                      recorded)


def webhook(backend: str = "sqlite", links_count: int = 120000) -> PathResult:
    """A signed ``responseFinished`` delivery per request against the hello-world POST.

    Each run sends deliveries of its own (a repeat would be a cheaper duplicate): ``links_count`` is split into
    one share per maximum-rate run and one for the half-rate run, each more than a run sends (each of wrk's
    two threads sends its half of a share; at 10,000 a thread, up to 2,000 deliveries/s a thread).
    """
    with database(backend) as url:
        tokens = prepare(url, links_count)
        lines = deliveries(tokens)
        share = len(lines) // (ROUNDS + 1)
        files = [_write(lines[start:start + share]) for start in range(0, share * (ROUNDS + 1), share)]
        env = [{"BENCH_REQUESTS": str(file), "BENCH_THREADS": "2"} for file in files]
        with gunicorn("bench.hello:app", env_for(url)) as base, gunicorn("plugin.wsgi:app", env_for(url)) as ours_url:
            baseline, ours = alternate(base, ours_url, [env[0]] * ROUNDS, env[:ROUNDS])
            half = wrk(ours_url, SCRIPT, env[ROUNDS], connections=4, rate=ours.rate / 2)
        for file in files:
            file.unlink()
        applied = _count(url, sa.select(sa.func.count()).select_from(InboxDelivery)
                         .where(InboxDelivery.status == "applied"))
        attributed = _count(url, sa.select(sa.func.count()).select_from(ResponseAttribution))
    answered = min(ours.answered + half.answered, links_count)
    return PathResult(f"webhook ingest, {backend}", ours, baseline, half, answered, min(applied, attributed))
