"""SQL for set-once writes, the way every idempotent effect is made: a row claimed by its unique key
(``INSERT ... ON CONFLICT DO NOTHING``, in the dialect's construct) and a timestamp that only moves earlier.
The webhook inbox, the attribution rule and the anonymous path all write this way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, case, or_
from sqlalchemy.sql import Insert

from plugin.db import DbSession, UTCDateTime, conflicts

_INSERTS: dict[tuple[str, str, str], Insert] = {}


def at_param(name: str) -> Any:
    """A parameter for a UTC timestamp column."""
    return bindparam(name, type_=UTCDateTime)


def insert_ignoring(dialect: str, table: Any, key: str) -> Insert:
    """``INSERT ... ON CONFLICT (key) DO NOTHING RETURNING`` the primary key, in the dialect's construct."""
    # RETURNING says whether this call made the row (PostgreSQL's rowcount is -1 under RETURNING)
    return (conflicts.insert(dialect, table).on_conflict_do_nothing(index_elements=[key])
            .returning(*table.primary_key.columns))


def _insert_ignoring_conflicts(dialect: str, model: Any, key: str) -> Insert:
    cached = _INSERTS.get((dialect, model.__tablename__, key))
    if cached is None:
        cached = _INSERTS[(dialect, model.__tablename__, key)] = insert_ignoring(dialect, model.__table__, key)
    return cached


def earliest(column: Any, name: str) -> Any:
    """SQL for the earlier of a nullable timestamp column and the parameter ``name`` (order-independent)."""
    at = bindparam(name, type_=UTCDateTime)
    return case((or_(column.is_(None), column > at), at), else_=column)


def insert_once(session: DbSession, model: Any, values: dict[str, Any], key: str) -> Any | None:
    """INSERT ... ON CONFLICT (key) DO NOTHING; the new row's primary key when this call made it, else None."""
    connection = session.connection()
    statement = _insert_ignoring_conflicts(connection.dialect.name, model, key)
    row = connection.execute(statement, values).first()
    return None if row is None else row[0]
