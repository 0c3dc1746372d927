"""Migrations: the chain upgrades a database holding data without losing any of it, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from plugin import create_app
from plugin.db import db
from tests.helpers import base_config, postgres_schema


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    with postgres_schema("pl_mig") as url:
        yield url


ROWS = [
    "INSERT INTO contacts (id, host_id, email, attributes, source, created_at, updated_at) "
    "VALUES (1, 'c1', 'a@x.org', '{\"plan\": \"pro\"}', 'csv', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    "INSERT INTO surveys (id, name, public_url, type, status, hidden_field_ids, single_use, source, created_at, "
    "updated_at) VALUES ('s', 'S', 'https://f.example/s/s', 'link', 'inProgress', '[\"plink\"]', false, 'manual', "
    "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    "INSERT INTO links (id, survey_id, contact_id, created_at, max_uses, use_count, open_count, is_current) "
    "VALUES (7, 's', 1, '2026-01-01 00:00:00', 1, 1, 2, true)",
    "INSERT INTO response_attributions (response_id, survey_id, link_id, contact_id, status, created_at, "
    "updated_at) VALUES ('r1', 's', 7, 1, 'attributed', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
]


def upgrade_with_rows(directory: str, revision: str, rows: list[str]) -> None:
    """Upgrade to ``revision``, store ``rows`` as that schema had them, then upgrade to the newest revision."""
    upgrade(directory=directory, revision=revision)
    with db.engine.begin() as connection:
        for statement in rows:
            connection.execute(sa.text(statement))
    upgrade(directory=directory)


def test_upgrade_from_the_first_revision_keeps_every_row(empty_url: str) -> None:
    app = create_app(base_config(empty_url))
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade_with_rows(directory, "0001", ROWS)
        with db.engine.connect() as connection:
            link = connection.execute(sa.text("SELECT id, use_count, open_count, purged_at FROM links")).one()
            assert tuple(link) == (7, 1, 2, None)
            assert connection.execute(sa.text("SELECT email FROM contacts")).scalar() == "a@x.org"
            assert connection.execute(sa.text("SELECT status FROM response_attributions")).scalar() == "attributed"
            head = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        downgrade(directory=directory, revision="0001")
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM links")).scalar() == 1
            assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
        db.engine.dispose()


REVOKED = [
    "INSERT INTO contacts (id, host_id, attributes, source, created_at, updated_at, deleted_at) VALUES "
    "(1, 'c1', '{}', 'csv', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL), "
    "(2, 'c2', '{}', 'csv', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL), "
    "(3, 'c3', '{}', 'csv', '2026-01-01 00:00:00', '2026-01-01 00:00:00', NULL)",
    "INSERT INTO surveys (id, name, public_url, type, status, hidden_field_ids, single_use, source, created_at, "
    "updated_at) VALUES ('s', 'S', 'https://f.example/s/s', 'link', 'inProgress', '[\"plink\"]', false, 'manual', "
    "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    # c1: revoked by an admin (the old code cleared is_current); c2: rotated (replaced by link 3);
    # c3: revoked because the contact was deleted (and later imported again)
    "INSERT INTO links (id, survey_id, contact_id, created_at, revoked_at, max_uses, use_count, open_count, "
    "is_current) VALUES "
    "(1, 's', 1, '2026-01-01 00:00:00', '2026-01-02 00:00:00', 1, 0, 0, false), "
    "(2, 's', 2, '2026-01-01 00:00:00', '2026-01-02 00:00:00', 1, 0, 0, false), "
    "(3, 's', 2, '2026-01-02 00:00:00', NULL, 1, 0, 0, true), "
    "(4, 's', 3, '2026-01-01 00:00:00', '2026-01-02 00:00:00', 1, 0, 0, false)",
    "INSERT INTO audit_events (at, action, actor, link_id, survey_id, contact_id, detail) VALUES "
    "('2026-01-02 00:00:00', 'revoked', 'sync', 4, 's', 3, '{\"reason\": \"contact deleted\"}')",
]


def test_0006_makes_revocations_made_before_the_upgrade_hold(empty_url: str) -> None:
    app = create_app(base_config(empty_url))
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade_with_rows(directory, "0004", REVOKED)
        current = "SELECT id FROM links WHERE is_current ORDER BY id"
        with db.engine.connect() as connection:
            assert [row[0] for row in connection.execute(sa.text(current))] == [1, 3]
        downgrade(directory=directory, revision="0004")
        with db.engine.connect() as connection:
            assert [row[0] for row in connection.execute(sa.text(current))] == [3]
        db.engine.dispose()


def test_0014_leaves_existing_surveys_attributed_and_their_attributions_in_place(empty_url: str) -> None:
    app = create_app(base_config(empty_url))
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade_with_rows(directory, "0010", ROWS)
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT anonymous, anonymous_since FROM surveys")).one() == (False, None)
            assert connection.execute(sa.text("SELECT count(*) FROM response_attributions")).scalar() == 1
        downgrade(directory=directory, revision="0010")
        with db.engine.connect() as connection:
            assert "anonymous_tickets" not in sa.inspect(connection).get_table_names()
        db.engine.dispose()


def test_the_migrations_make_every_table_of_the_app_and_no_other(empty_url: str) -> None:
    """The app's metadata (what Alembic compares with) holds every table the migrations make: the tables' package
    (``plugin.models``, one module per domain) is whole without the factory importing its modules one by one."""
    app = create_app(base_config(empty_url))
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        with db.engine.connect() as connection:
            made = set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
        db.engine.dispose()
    assert made == set(db.metadata.tables)
