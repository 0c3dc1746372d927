"""SQLite writers take turns, the threads of a process and the processes of a file (``plugin.db.write_turn``);
PostgreSQL writers do not wait."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from plugin.db.write_turn import sqlite_write_turn

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_sqlite_writer_waits_for_the_first_then_gets_its_turn() -> None:
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with sqlite_write_turn("sqlite", 1.0):
            holding.set()
            time.sleep(0.2)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    with sqlite_write_turn("sqlite", 5.0):
        order.append("second writes")
    thread.join()
    assert order == ["first done", "second writes"]


def test_a_writer_that_waits_too_long_gets_the_busy_error_sqlite_would_give() -> None:
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with sqlite_write_turn("sqlite", 1.0):
            holding.set()
            done.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is busy"):
            with sqlite_write_turn("sqlite", 0.1):
                pass
        assert 0.09 < time.monotonic() - started < 2
    finally:
        done.set()
        thread.join()


def test_postgresql_writers_take_no_turn() -> None:
    with sqlite_write_turn("sqlite", 1.0):
        with sqlite_write_turn("postgresql", 0.01):  # would time out were it the same lock
            pass


def _hold_in_another_process(database: Path, seconds: float) -> subprocess.Popen[str]:
    """A Python process that takes the file's turn, says so, and holds it ``seconds``."""
    code = ("import sys, time\nfrom plugin.db.write_turn import sqlite_write_turn\n"
            f"with sqlite_write_turn('sqlite', 5.0, {str(database)!r}):\n"
            f"    print('holding', flush=True)\n    time.sleep({seconds})\n")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout is not None and process.stdout.readline().strip() == "holding"
    return process


def test_a_writer_of_another_process_waits_for_the_file_turn(tmp_path: Path) -> None:
    database = tmp_path / "shared.sqlite3"
    other = _hold_in_another_process(database, 0.5)
    started = time.monotonic()
    with sqlite_write_turn("sqlite", 5.0, str(database)):
        waited = time.monotonic() - started
    other.wait(10)
    assert waited > 0.3  # it was the other process's turn
    with sqlite_write_turn("sqlite", 0.1, str(tmp_path / "another.sqlite3")):
        pass  # another file is another queue


def test_a_writer_that_waits_too_long_for_another_process_gets_the_busy_error_and_leaves_no_turn_behind(
        tmp_path: Path) -> None:
    database = tmp_path / "shared.sqlite3"
    other = _hold_in_another_process(database, 1.0)
    started = time.monotonic()
    with pytest.raises(OperationalError, match="database is busy"):
        with sqlite_write_turn("sqlite", 0.2, str(database)):
            pass
    assert time.monotonic() - started < 0.9
    other.wait(10)
    time.sleep(0.1)  # the turn granted after the first one gave up has been handed back by now
    started = time.monotonic()
    with sqlite_write_turn("sqlite", 1.0, str(database)):
        assert time.monotonic() - started < 0.5
    probe = _hold_in_another_process(database, 0.0)  # and another process can take it after us
    assert probe.wait(10) == 0
