"""Fixtures shared by every test folder: the app on SQLite and on PostgreSQL, a frozen clock, API keys.

Each test that uses ``app`` runs twice, once per database. The schema is made by the real migrations, once
per backend and session; rows are emptied after each test. PostgreSQL tests use a schema of their own
(``pl_test_<pid>``) in the configured database, so parallel runs on one server do not meet. Without a
reachable server they are skipped, unless ``PERSONAL_LINKS_TEST_REQUIRE_POSTGRES=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from plugin import create_app
from plugin.clock import FrozenClock
from plugin.db import db
from plugin.services.admin.api_keys import create_key
from plugin.state import state
from tests import metrics_support
from tests.helpers import NOW, base_config, postgres_schema
from webhooks import connections

pytest_plugins = ["tests.plugin.formbricks_host"]  # the fake Formbricks fixtures (fake_host, fake_host_v5)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A URL whose search_path is a schema made for this test session; dropped at the end."""
    with postgres_schema("pl_test") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file for this test session."""
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


_MIGRATED: set[str] = set()


def migrate_once(url: str) -> None:
    """Run the real migrations on a database, once per session."""
    if url in _MIGRATED:
        return
    app = create_app(base_config(url))
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()
    _MIGRATED.add(url)


def empty_tables(url: str) -> None:
    """Delete every row of the app's tables (the schema and alembic_version stay)."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tables = [table.name for table in db.metadata.sorted_tables]
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(sa.text(f'DELETE FROM "{table}"'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database of each backend in turn."""
    url = request.getfixturevalue(f"{request.param}_url")
    migrate_once(url)
    yield url
    empty_tables(url)


@pytest.fixture
def app_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings added to the test app: ``@pytest.mark.settings(NAME=value)``; a folder's conftest may add more."""
    marker = request.node.get_closest_marker("settings")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
def app(database_url: str, app_settings: dict[str, Any]) -> Iterator[Flask]:
    """The app on a migrated, empty database, with a frozen clock at ``NOW``."""
    app = create_app(base_config(database_url, **app_settings))
    app.extensions["personal_links"].clock = FrozenClock(NOW)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
        connections.dispose(app)


@pytest.fixture
def clock(app: Flask) -> FrozenClock:
    """The app's clock, to move in tests."""
    return state().clock  # type: ignore[return-value]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def api_headers(app: Flask) -> dict[str, str]:
    """Headers with a fresh admin API key."""
    _, key = create_key(db.session, "test", NOW)
    db.session.commit()
    return {"x-api-key": key}


@pytest.fixture(scope="session", autouse=True)
def _metrics_folder_removed_at_the_end() -> Iterator[None]:
    """The test process's metrics folder (``tests.metrics_support.FOLDER``) goes when the session ends, not when a
    module does: metrics stay on in the process, and a later module writes to the same folder."""
    yield
    shutil.rmtree(metrics_support.FOLDER, ignore_errors=True)


_FAST = os.environ.get("PERSONAL_LINKS_TEST_FAST") == "1"  # make test-fast: SQLite only, no servers, no browser


def _needs_postgres(item: pytest.Item) -> bool:
    spec = getattr(item, "callspec", None)
    return (item.get_closest_marker("postgres") is not None or "postgres_url" in getattr(item, "fixturenames", ())
            or (spec is not None and "postgres" in spec.params.values()))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``make test-fast`` (``PERSONAL_LINKS_TEST_FAST=1``): the edit loop's suite leaves out the PostgreSQL runs,
    the server processes and the browser, and says how many it left out; ``make test`` and CI run them all."""
    if not _FAST:
        return
    slow = [item for item in items if _needs_postgres(item) or item.get_closest_marker("servers")
            or item.get_closest_marker("browser")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        left = set(slow)
        items[:] = [item for item in items if item not in left]
