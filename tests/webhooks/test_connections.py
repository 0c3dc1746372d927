"""webhooks.connections: on PostgreSQL the intake's connections are made with its time limits (and keep the
URL's own options); the app's connections are not limited; SQLite has no intake engine. The intake's way (a
transaction each on its own connections, or group commit on SQLite) is chosen once, at start-up."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from plugin import create_app
from plugin.db import db
from tests.conftest import migrate_once
from tests.helpers import base_config
from webhooks import connections, receiver
from webhooks.intake import WAIT_LIMIT_MS, Direct, GroupCommit


def _settings(engine: sa.Engine) -> tuple[str, str, str]:
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT current_setting('lock_timeout'), "
                                         "current_setting('statement_timeout'), current_schema()")).one()
    return row[0], row[1], row[2]


@pytest.mark.postgres
def test_the_intake_connections_carry_its_limits_and_the_urls_options(postgres_url: str) -> None:
    migrate_once(postgres_url)
    app = create_app(base_config(postgres_url))
    with app.app_context():
        intake = connections.engine_of(app)
        assert intake is not None and intake is not db.engine
        chosen = app.extensions[receiver.KEY].intake
        assert isinstance(chosen, Direct) and chosen.engine is intake  # chosen at start-up, on the intake's engine
        lock, statement, schema = _settings(intake)
        app_lock, app_statement, app_schema = _settings(db.engine)
        db.engine.dispose()
        connections.dispose(app)
    assert lock == statement == f"{WAIT_LIMIT_MS // 1000}s"
    assert app_lock == app_statement == "0"  # a long CSV download is never cut short
    assert schema == app_schema and schema.startswith("pl_test_")  # the URL's search_path kept


def test_sqlite_has_no_intake_engine_and_commits_deliveries_in_groups(sqlite_url: str) -> None:
    app = create_app(base_config(sqlite_url))
    assert connections.engine_of(app) is None
    assert isinstance(app.extensions[receiver.KEY].intake, GroupCommit)  # chosen at start-up
