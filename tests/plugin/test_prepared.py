"""Prepared statements (``plugin.db.prepared``) run what SQLAlchemy would run: the same values stored and read back,
errors raised as SQLAlchemy raises them, inside the session's transaction; on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import JSON, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.db import SQLITE_BUSY_TIMEOUT_MS, UTCDateTime, change_busy_timeout, db
from plugin.db.prepared import Driver, Prepared
from plugin.models import AuditEvent

AT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
_AUDIT = AuditEvent.__table__
_INSERT = Prepared(insert(_AUDIT).values(
    at=bindparam("p_at", type_=UTCDateTime), action=bindparam("p_action"), actor="prepared-test",
    link_id=bindparam("p_link"), survey_id=None, contact_id=None, detail=bindparam("p_detail", type_=JSON),
    request_id=None).returning(_AUDIT.c.id))
_READ = Prepared(select(_AUDIT.c.at, _AUDIT.c.action, _AUDIT.c.actor, _AUDIT.c.detail).where(
    _AUDIT.c.id == bindparam("p_id")))
_LATER = Prepared(update(_AUDIT).where(_AUDIT.c.link_id == bindparam("p_link")).values(
    at=bindparam("p_at", type_=UTCDateTime)))


def test_what_a_prepared_insert_stores_reads_back_as_the_orm_reads_it(app: Flask) -> None:
    sql = Driver(db.session)
    made = sql.first(_INSERT, {"p_at": AT, "p_action": "used", "p_link": 7, "p_detail": {"responseId": "r-1"}})
    assert made is not None
    db.session.commit()
    stored = db.session.get(AuditEvent, made[0])
    assert (stored.at, stored.action, stored.actor, stored.link_id, stored.detail) == (
        AT, "used", "prepared-test", 7, {"responseId": "r-1"})  # the literal actor came with the statement
    row = Driver(db.session).first(_READ, {"p_id": made[0]})
    assert row == (AT, "used", "prepared-test", {"responseId": "r-1"})
    assert (row.at, row.action) == (AT, "used")  # named by the statement's columns


def test_a_prepared_update_counts_its_rows_and_compares_times_as_stored(app: Flask) -> None:
    sql = Driver(db.session)
    for link in (1, 1, 2):
        sql.run(_INSERT, {"p_at": AT, "p_action": "used", "p_link": link, "p_detail": None})
    assert sql.rowcount(_LATER, {"p_link": 1, "p_at": AT + timedelta(days=1)}) == 2
    db.session.commit()
    later = select(func.count()).select_from(_AUDIT).where(_AUDIT.c.at > AT)  # the ORM's own comparison
    assert db.session.scalar(later) == 2


def test_it_runs_in_the_session_transaction_and_a_rollback_undoes_it(app: Flask) -> None:
    Driver(db.session).run(_INSERT, {"p_at": AT, "p_action": "used", "p_link": 3, "p_detail": None})
    assert db.session.scalar(select(func.count()).select_from(_AUDIT)) == 1  # the session sees it: one transaction
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(_AUDIT)) == 0


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(app: Flask) -> None:
    with pytest.raises(IntegrityError):  # action is NOT NULL
        Driver(db.session).run(_INSERT, {"p_at": AT, "p_action": None, "p_link": 3, "p_detail": None})
    db.session.rollback()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_changed_busy_timeout_is_given_back_when_the_connection_returns_to_the_pool(app: Flask) -> None:
    connection = db.session.connection().connection
    change_busy_timeout(connection, 250)
    assert connection.cursor().execute("PRAGMA busy_timeout").fetchone()[0] == 250
    raw = connection.dbapi_connection
    db.session.commit()  # the connection goes back to the pool
    assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == SQLITE_BUSY_TIMEOUT_MS


def test_on_a_plain_connection_what_it_writes_is_committed_by_the_connection(app: Flask) -> None:
    with db.engine.connect() as connection:  # as the click uses it: no transaction begun by SQLAlchemy
        Driver(connection).run(_INSERT, {"p_at": AT, "p_action": "opened", "p_link": 9, "p_detail": None})
        connection.commit()
    assert db.session.scalar(select(func.count()).select_from(_AUDIT).where(_AUDIT.c.link_id == 9)) == 1
