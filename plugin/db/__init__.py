"""The database machinery. Here: the extension, unbound until the app factory binds it, the column types we share
and the connection set-up (SQLite's pragmas and busy timeout). Beside it: prepared statements on the driver's cursor
(``prepared``), bulk driver SQL (``driver_sql``), SQLite's write turns (``write_turn``) and checkpoints
(``sqlite_checkpoints``), the ping of idle pooled connections (``pool_ping``), and the schema's upgrade
(``schema``). The tables are in ``plugin.models``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.types import TypeDecorator

from plugin.db import sqlite_checkpoints

# Named constraints so that migrations can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 10_000

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC (SQLite has no time zones) and read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL results on SQLite
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL and a busy timeout let several server processes share one SQLite file; enforce foreign keys; leave
    checkpoints to a thread (``plugin.db.sqlite_checkpoints``)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        sqlite_checkpoints.take_over(dbapi_connection)


BUSY_TIMEOUT_CHANGED = "personal_links_busy_timeout_changed"  # in a pooled connection's info: give it back


def change_busy_timeout(connection: Any, milliseconds: int) -> None:
    """Set a SQLite connection's busy timeout for as long as it is checked out; the pool gives it back the
    usual one (``SQLITE_BUSY_TIMEOUT_MS``) when it is checked in. ``connection``: a pooled connection
    (``Connection.connection``)."""
    connection.cursor().execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
    connection.info[BUSY_TIMEOUT_CHANGED] = True


@event.listens_for(Engine, "checkin")
def _usual_busy_timeout(dbapi_connection: Any, connection_record: Any) -> None:
    if connection_record.info.pop(BUSY_TIMEOUT_CHANGED, False) and dbapi_connection is not None:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


# What services take: a plain session (jobs, tests) or Flask-SQLAlchemy's scoped one (views, CLI).
DbSession = Session | scoped_session[Any]
