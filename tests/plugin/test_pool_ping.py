"""plugin.db.pool_ping on the real PostgreSQL server: a connection cut while idle is replaced at checkout; one in
steady use is not tested (no round trip), and a cut one fails once, after which the pool connects afresh."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from plugin import create_app
from plugin.db import db, pool_ping
from tests.helpers import base_config

pytestmark = pytest.mark.postgres


@pytest.fixture
def engines(postgres_url: str) -> Iterator[tuple[Engine, Engine]]:
    """An engine of the app's kind (no pool_pre_ping) and a second one to cut the first one's connections."""
    engine, killer = sa.create_engine(postgres_url, pool_pre_ping=False), sa.create_engine(postgres_url)
    yield engine, killer
    engine.dispose()
    killer.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _cut(killer: Engine, pid: int) -> None:
    with killer.begin() as connection:
        assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    time.sleep(0.05)  # the backend is gone before the next use


def test_a_connection_cut_while_idle_is_replaced_at_checkout(engines: tuple[Engine, Engine]) -> None:
    engine, killer = engines
    pool_ping.watch(engine, idle_seconds=0.1)
    first = _backend(engine)
    _cut(killer, first)
    time.sleep(0.1)
    second = _backend(engine)  # the checkout tested the idle connection and made a new one: no error here
    assert second != first


def test_a_connection_in_steady_use_is_not_tested_and_a_cut_one_fails_once(engines: tuple[Engine, Engine]) -> None:
    engine, killer = engines
    pool_ping.watch(engine, idle_seconds=60)
    first = _backend(engine)
    _cut(killer, first)
    with pytest.raises(sa.exc.OperationalError) as caught:  # not tested at checkout: the statement meets the cut
        _backend(engine)
    assert caught.value.connection_invalidated
    assert _backend(engine) != first  # the pool dropped it: the next checkout connects afresh


def test_the_app_tests_idle_connections_only(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(base_config(postgres_url))
    with app.app_context():
        engine = db.engine
        assert engine.pool._pre_ping is False  # type: ignore[attr-defined]  (not on every checkout)
        first = _backend(engine)
        killer = sa.create_engine(postgres_url)
        _cut(killer, first)
        killer.dispose()
        later = time.monotonic() + pool_ping.IDLE_PING_SECONDS
        monkeypatch.setattr(pool_ping, "time", type("Clock", (), {"monotonic": staticmethod(lambda: later)}))
        assert _backend(engine) != first  # idle that long: tested at checkout, found cut, replaced (no error)
        engine.dispose()


def _pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The checkout tests the engine's dialect makes from now on (each still answers alive)."""
    made: list[object] = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda dbapi_connection: made.append(dbapi_connection) or True)
    return made


def test_only_a_connection_idle_long_enough_is_tested(engines: tuple[Engine, Engine],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _ = engines
    pool_ping.watch(engine, idle_seconds=0.2)
    _backend(engine)  # made now: not tested
    pings = _pings(engine, monkeypatch)
    _backend(engine)  # back in the pool a moment ago: not tested
    assert pings == []
    time.sleep(0.25)
    _backend(engine)
    assert len(pings) == 1


def test_sqlite_engines_are_never_tested(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sa.create_engine(sqlite_url)
    pool_ping.watch(engine, idle_seconds=0)
    pings = _pings(engine, monkeypatch)
    for _ in range(2):
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    engine.dispose()
    assert pings == []
