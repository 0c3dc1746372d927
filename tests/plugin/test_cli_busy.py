"""A command that writes while another process holds SQLite's write lock past the busy limit: one line, no
traceback, whatever layer ran the SQL (SQLAlchemy, the bulk paths' driver-level SQL, prepared statements)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from plugin import db as db_module
from plugin.db import db
from plugin.models import Contact, Suppression

BUSY_MS = 200  # the busy limit of the command's connections in these tests (10 s in use)


@pytest.fixture
def sqlite_only(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's busy limit: PostgreSQL writers take row locks")
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", BUSY_MS)
    return database_url.removeprefix("sqlite:///")


@contextmanager
def write_lock_held(path: str) -> Iterator[None]:
    """Another process's writer in the middle of a transaction (as the server is while it writes)."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def _one_line_busy(result) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("Error: database error: database is")
    assert "Traceback" not in result.output
    assert "another process is writing" in result.output


def test_contacts_import_past_the_busy_limit_is_one_line(run, sqlite_only: str, tmp_path: Path) -> None:
    """The import's batches are driver-level SQL (``plugin.db.driver_sql``): raw sqlite3 errors before."""
    contacts = tmp_path / "c.csv"
    contacts.write_text("id,email,segments\nk1,a@x.org,All\nk2,b@x.org,All\n")
    with write_lock_held(sqlite_only):
        _one_line_busy(run("contacts", "import", str(contacts)))
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_suppressions_import_past_the_busy_limit_is_one_line(run, sqlite_only: str, tmp_path: Path) -> None:
    bounces = tmp_path / "b.csv"
    bounces.write_text("email,reason\na@x.org,bounce\n")
    with write_lock_held(sqlite_only):
        _one_line_busy(run("suppressions", "import", str(bounces)))
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0
