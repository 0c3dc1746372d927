"""``/readyz`` takes a write: 503 with the reason while the database answers reads but refuses writes (a full disk,
a read-only database), 200 again once writes work; a storm of probes costs one write a second; one log line per
change of state, not one per probe."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from plugin import create_app, readiness
from plugin.db import db
from tests.helpers import base_config
from tests.servers import free_port, serve_in_thread

# What a full disk says, raised by the database on every write to the heartbeat (reads go on working).
REFUSE = {
    "sqlite": ["CREATE TRIGGER refuse_insert BEFORE INSERT ON readiness_heartbeat "
               "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
               "CREATE TRIGGER refuse_update BEFORE UPDATE ON readiness_heartbeat "
               "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"],
    "postgresql": ["CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' "
                   "USING ERRCODE = 'disk_full'; END $$",
                   "CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON readiness_heartbeat "
                   "FOR EACH ROW EXECUTE FUNCTION refuse()"],
}
ALLOW = {
    "sqlite": ["DROP TRIGGER refuse_insert", "DROP TRIGGER refuse_update"],
    "postgresql": ["DROP TRIGGER refuse ON readiness_heartbeat", "DROP FUNCTION refuse()"],
}


def run(statements: list[str]) -> None:
    with db.engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


@pytest.fixture
def base(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app over real HTTP, each probe checking afresh (no cached answer between a test's probes)."""
    monkeypatch.setattr(readiness, "CACHE_SECONDS", 0.0)
    with serve_in_thread(app) as url:
        yield url


def ready(base: str) -> tuple[int, dict[str, Any]]:
    answer = requests.get(f"{base}/readyz", timeout=10)
    return answer.status_code, answer.json()


def test_readyz_is_503_with_the_reason_while_writes_fail_and_200_again_after(
        app: Flask, base: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=readiness.__name__)
    assert ready(base) == (200, {"status": "ok", "database": "ok"})
    run(REFUSE[db.engine.dialect.name])
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1  # reads still work
        for _ in range(3):
            status, body = ready(base)
            assert (status, body["status"], body["database"]) == (503, "unavailable", "refuses-writes")
            assert body["reason"] == "the database refuses writes (a full disk, a read-only database or user)"
    finally:
        run(ALLOW[db.engine.dialect.name])
    assert ready(base) == (200, {"status": "ok", "database": "ok"})
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == readiness.__name__]
    assert len(lines) == 2, lines  # one when it failed, one when it recovered: not one per probe
    assert lines[0][0] == "ERROR" and lines[0][1].startswith("not ready: the database refuses writes")
    assert "full" in lines[0][1] or "No space left" in lines[0][1]
    assert lines[1] == ("WARNING", "ready again: the database takes writes")


def test_a_read_only_database_is_not_ready(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        path = tmp_path / "ro.sqlite3"
        migrated = create_app(base_config(f"sqlite:///{path}"))
        with migrated.app_context():
            upgrade(directory=migrated.extensions["migrate"].directory)
            db.engine.dispose()
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:  # a standby after a failover, or a database set read-only: reads answer, writes are refused
        url = database_url + "%20-cdefault_transaction_read_only%3Don"
    app = create_app(base_config(url))
    try:
        with serve_in_thread(app) as base:
            status, body = ready(base)
        assert (status, body["database"]) == (503, "refuses-writes")
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_probe_storm_costs_one_write_a_second(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readiness, "CACHE_SECONDS", 3600.0)  # the test's fifty probes within one "second"
    client = app.test_client()
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert {client.get("/readyz").status_code for _ in range(50)} == {200}
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    assert len([s for s in seen if "readiness_heartbeat" in s]) == 1, seen


def test_a_write_kept_waiting_by_another_writer_is_busy_not_unready(app: Flask, base: str) -> None:
    """A long import holds SQLite's write lock (PostgreSQL: the heartbeat's row) for seconds: reads and clicks go on,
    so the instance stays in the load balancer; the answer says the database is busy."""
    assert ready(base)[0] == 200  # the heartbeat row exists
    holder = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with holder.connect() as connection:
            if holder.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.exec_driver_sql("BEGIN")
                connection.exec_driver_sql("SELECT * FROM readiness_heartbeat FOR UPDATE")
            assert ready(base) == (200, {"status": "ok", "database": "busy"})
            connection.exec_driver_sql("ROLLBACK")
    finally:
        holder.dispose()
    assert ready(base) == (200, {"status": "ok", "database": "ok"})


@pytest.mark.parametrize("url", ["sqlite:////nonexistent-folder/no.sqlite3", "postgresql://nobody@127.0.0.1:{port}/test"],
                         ids=["sqlite", "postgres"])
def test_a_database_that_does_not_answer_is_unreachable(url: str) -> None:
    app = create_app(base_config(url.format(port=free_port())))  # nothing listens on that port
    try:
        with serve_in_thread(app) as base:
            assert ready(base) == (503, {"status": "unavailable", "database": "unreachable",
                                         "reason": "the database does not answer"})
    finally:
        with app.app_context():
            db.engine.dispose()
