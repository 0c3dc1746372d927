"""SQLite's WAL is copied back by a thread of the process, not inline in a commit (``plugin.db.sqlite_checkpoints``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from plugin.db import sqlite_checkpoints


def _eventually(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _engine(path: Path) -> sa.engine.Engine:
    return sa.create_engine(f"sqlite:///{path}")  # the app's connect listener (plugin.db) applies to every engine


def test_a_connection_leaves_its_checkpoints_to_a_thread_that_copies_the_log_back(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.sqlite3"
    engine = _engine(path)
    with engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == sqlite_checkpoints.SAFETY_PAGES
        connection.exec_driver_sql("CREATE TABLE rows (id INTEGER PRIMARY KEY, text TEXT)")
    assert sqlite_checkpoints.running(str(path))
    size = path.stat().st_size
    with engine.begin() as connection:  # about 300 pages: under SQLite's own threshold of 1,000 as well
        connection.execute(sa.text("INSERT INTO rows (text) VALUES (:text)"), [{"text": "x" * 1000}] * 1200)
    # only a checkpoint writes the main file; no commit here crossed a threshold, so the thread did it
    assert _eventually(lambda: path.stat().st_size > size + 1_000_000)
    engine.dispose()


def test_the_thread_ends_when_its_database_file_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "gone.sqlite3"
    engine = _engine(path)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE rows (id INTEGER PRIMARY KEY)")
    engine.dispose()
    assert sqlite_checkpoints.running(str(path))
    for leftover in tmp_path.iterdir():
        os.unlink(leftover)
    assert _eventually(lambda: not sqlite_checkpoints.running(str(path)))
    assert not path.exists()  # and it did not create the file again


def test_an_in_memory_database_has_no_thread() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as connection:
        assert sqlite_checkpoints.database_file(connection.connection.dbapi_connection) is None  # type: ignore[arg-type]
    engine.dispose()
