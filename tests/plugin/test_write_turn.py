"""SQLite writers of one process take turns (``plugin.db.sqlite_write_turn``); PostgreSQL writers do not wait."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from plugin.db import sqlite_write_turn


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
