"""Exactly once under concurrency, with real server processes: 50 distinct finished responses sent at once
from several OS processes to gunicorn workers for ONE single-use link attribute exactly one; 49 duplicates.

Runs against a SQLite file shared by the workers (WAL) and against PostgreSQL (a schema of its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from adapters.csv_file import CsvContactSource
from plugin import create_app
from plugin.db import db
from plugin.models import Contact, Link, ResponseAttribution
from plugin.services.contacts.contacts import import_contacts
from plugin.services.host.surveys import save_survey
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from plugin.state import state
from tests.helpers import base_config
from tests.servers import fresh_database, gunicorn
from tests.webhooks.support import SECRET, response_body, signed
from webhooks.models import InboxDelivery

pytestmark = pytest.mark.servers
DELIVERIES, SENDERS, WORKERS = 50, 5, 3


@pytest.fixture(params=["sqlite", "postgres"])
def server_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of its own for the server processes."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def server(server_database: str, tmp_path: Path) -> Iterator[str]:
    """gunicorn with several worker processes on the database."""
    with gunicorn(server_database, tmp_path, workers=WORKERS, settings={"WEBHOOK_SECRETS": SECRET}) as base:
        yield base


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
