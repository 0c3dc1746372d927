"""A pooled PostgreSQL connection is tested before use only when it sat idle long enough to have gone stale.

SQLAlchemy's ``pool_pre_ping`` tests every connection at every checkout: one round trip more on each click
and each webhook delivery (measured: a tenth of a delivery's cost, bench/RESULTS.md). A connection that went
back to the pool a moment ago was working then; one that idled for longer than ``IDLE_PING_SECONDS`` may
have been cut meanwhile (a server restart, a firewall's idle timeout), so it is tested, and replaced when
the test fails. A connection cut while in steady use fails its statement instead: SQLAlchemy then drops it
and every connection of the pool made before it (a disconnect invalidates the pool), so the next checkouts
connect afresh. SQLite files are never tested (nothing to cut).
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError

IDLE_PING_SECONDS = 1.0
_RETURNED_AT = "personal_links_returned_at"  # in a pooled connection's info: when it was made or checked in


def watch(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Test the engine's connections at checkout when they idled ``idle_seconds`` or more (not on SQLite)."""
    if engine.dialect.name == "sqlite":
        return
    event.listen(engine, "connect", _stamp)
    event.listen(engine, "checkin", _stamp)
    event.listen(engine, "checkout", partial(_test_if_idle, engine.dialect, idle_seconds))


def _stamp(dbapi_connection: Any, connection_record: Any) -> None:
    connection_record.info[_RETURNED_AT] = time.monotonic()


def _test_if_idle(dialect: Dialect, idle_seconds: float, dbapi_connection: Any, connection_record: Any,
                  connection_proxy: Any) -> None:
    """Raise DisconnectionError for an idle connection that no longer answers: the pool replaces it (up to
    three tries, as with ``pool_pre_ping``)."""
    returned_at = connection_record.info.get(_RETURNED_AT)
    if returned_at is not None and time.monotonic() - returned_at < idle_seconds:
        return
    try:
        alive = dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as exc:
        if not dialect.is_disconnect(exc, dbapi_connection, None):
            raise
        alive = False
    if not alive:
        raise DisconnectionError("the pooled connection did not answer after idling; connecting again")
