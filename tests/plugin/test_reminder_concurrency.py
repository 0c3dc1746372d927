"""Twenty reminder batches asked for at once, from threads, to gunicorn worker processes (each with threads) on
one database: every contact is returned once, never twice. SQLite (a shared WAL file) and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from threading import Barrier

import pytest
import requests
import sqlalchemy as sa

from adapters.csv_file import CsvContactSource
from plugin import create_app
from plugin.db import db
from plugin.models import Contact, ContactMade
from plugin.services.admin.api_keys import create_key
from plugin.services.contacts.contacts import import_contacts
from plugin.services.host.surveys import save_survey
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from tests.helpers import base_config
from tests.servers import fresh_database, gunicorn

pytestmark = pytest.mark.servers
CALLS, CONTACTS, LIMIT = 20, 60, 4  # 80 asked for, 60 due: the batches compete for the last ones


@pytest.fixture(params=["sqlite", "postgres"])
def server_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of its own for the server processes."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


def _seed(url: str) -> str:
    """Sixty contacts with a link each; an API key."""
    app = create_app(base_config(url))
    with app.app_context():
        now = datetime.now(UTC)
        rows = "".join(f"c{i:02d},p{i}@example.com\n" for i in range(CONTACTS))
        source = CsvContactSource(text="id,email\n" + rows)
        import_contacts(db.session, source.contacts(), source.segments(), now, "test")
        survey = save_survey(db.session, "survey-1", {"publicUrl": "https://forms.example.com/s/survey-1"}, now,
                             "plink")
        issue_links(db.session, survey, sa.select(Contact.id), IssueOptions(), now, "test")
        _, key = create_key(db.session, "test", now)
        db.session.commit()
        db.engine.dispose()
    return key


def test_twenty_concurrent_batches_return_each_contact_once(server_database: str, tmp_path: Path) -> None:
    key = _seed(server_database)
    barrier = Barrier(CALLS)
    with gunicorn(server_database, tmp_path, workers=4, options=("--threads", "5")) as base:
        def ask(_: int) -> tuple[int, list[str]]:
            barrier.wait(timeout=20)
            answer = requests.post(f"{base}/api/personal-links/v1/surveys/survey-1/reminder-batches",
                                   json={"limit": LIMIT}, headers={"x-api-key": key}, timeout=30)
            body = answer.json()
            return answer.status_code, [row["contactId"] for row in body.get("data", {}).get("contacts", [])]

        with ThreadPoolExecutor(CALLS) as pool:
            answers = list(pool.map(ask, range(CALLS)))
    assert [status for status, _ in answers] == [201] * CALLS
    returned = Counter(contact for _, contacts in answers for contact in contacts)
    assert len(returned) == CONTACTS and set(returned.values()) == {1}
    app = create_app(base_config(server_database))
    with app.app_context():
        claimed = db.session.execute(sa.select(ContactMade.contact_id, sa.func.count())
                                     .where(ContactMade.status == "pending").group_by(ContactMade.contact_id)).all()
        assert len(claimed) == CONTACTS and {count for _, count in claimed} == {1}
        db.session.remove()
        db.engine.dispose()
