"""Exactly once under concurrency, with real server processes: 50 distinct finished responses sent at once
from several OS processes to gunicorn workers for ONE single-use link attribute exactly one; 49 duplicates.

Runs against a SQLite file shared by the workers (WAL) and against PostgreSQL (a schema of its own).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from flask_migrate import upgrade

from adapters.csv_file import CsvContactSource
from plugin import create_app
from plugin.db import db
from plugin.models import Contact, Link, ResponseAttribution
from plugin.services.contacts import import_contacts
from plugin.services.expiry import IssueOptions
from plugin.services.links import issue_links
from plugin.services.surveys import save_survey
from plugin.state import state
from tests.helpers import PUBLIC_URL, SECRET_KEY, base_config
from tests.webhooks.support import SECRET, response_body, signed
from webhooks.models import InboxDelivery

pytestmark = pytest.mark.servers
ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
POSTGRES_URL = os.environ.get("PERSONAL_LINKS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DELIVERIES, SENDERS, WORKERS = 50, 5, 3


@pytest.fixture(params=["sqlite", "postgres"])
def server_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of its own: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'servers.sqlite3'}"
        schema = None
    else:
        schema = f"pl_servers_{secrets.token_hex(4)}"
        engine = sa.create_engine(POSTGRES_URL)
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        except sa.exc.OperationalError as exc:
            pytest.skip(f"PostgreSQL is not reachable: {exc.orig}")
        url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    app = create_app(base_config(url))
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()
    yield url
    if schema is not None:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(server_database: str, tmp_path: Path) -> Iterator[str]:
    """gunicorn with several worker processes on the database; stopped however the test ends."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PERSONAL_LINKS_DATABASE_URL": server_database,
           "PERSONAL_LINKS_SECRET_KEY": SECRET_KEY, "PERSONAL_LINKS_PUBLIC_URL": PUBLIC_URL,
           "PERSONAL_LINKS_WEBHOOK_SECRETS": SECRET, "PERSONAL_LINKS_INSTANCE_PATH": str(tmp_path / "instance")}
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen([str(GUNICORN), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--timeout", "30",
                                "plugin:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # still booting
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{(tmp_path / 'gunicorn.log').read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _send(url: str, batch: list[tuple[bytes, dict[str, str]]]) -> list[int]:
    """Post a batch all at once from this process (one thread per delivery); the status codes."""
    with ThreadPoolExecutor(len(batch)) as pool:
        return list(pool.map(lambda item: requests.post(url, data=item[0], headers=item[1], timeout=10).status_code,
                             batch))


def test_fifty_concurrent_finished_responses_for_one_single_use_link(server: str, server_database: str) -> None:
    app = create_app(base_config(server_database))
    with app.app_context():
        now = datetime.now(UTC)
        source = CsvContactSource(text="id,email\nc1,one@example.com\n")
        import_contacts(db.session, source.contacts(), source.segments(), now, "test")
        survey = save_survey(db.session, "survey-1", {"publicUrl": "https://forms.example.com/s/survey-1"}, now,
                             "plink")
        issue_links(db.session, survey, sa.select(Contact.id), IssueOptions(max_uses=1), now, "test")
        db.session.commit()
        link = db.session.scalars(sa.select(Link)).one()
        token = state().tokens.make(link.id, "survey-1")
        deliveries = []
        for number in range(DELIVERIES):
            body = response_body("responseFinished", f"resp-{number}", token, finished=True, created=now)
            deliveries.append((body, signed(body, webhook_id=f"msg_{number}", at=now)))
        batches = [deliveries[i::SENDERS] for i in range(SENDERS)]
        with ProcessPoolExecutor(SENDERS) as senders:
            statuses = [code for codes in senders.map(_send, [f"{server}/webhooks/formbricks"] * SENDERS, batches)
                        for code in codes]
        assert statuses == [200] * DELIVERIES
        outcomes = dict(db.session.execute(sa.select(ResponseAttribution.status, sa.func.count())
                                           .group_by(ResponseAttribution.status)).all())
        assert outcomes == {"attributed": 1, "duplicate": DELIVERIES - 1}
        assert db.session.scalar(sa.select(Link.use_count).where(Link.id == link.id)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).where(InboxDelivery.status == "applied")) == DELIVERIES
        db.session.remove()
        db.engine.dispose()
