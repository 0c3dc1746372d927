"""Driver-level SQL for the bulk paths: plain values in, plain tuples out, on the session's own connection and
transaction, without SQLAlchemy's per-row work (statement compiling, type processing, ``Row`` objects).

Values must be as the driver takes them (``bind_value`` works one out once) and come back as the driver gives
them (SQLite: JSON as text; psycopg: parsed). The driver's errors are raised as SQLAlchemy raises them
(``plugin.db.prepared.execute``), so a busy database is the same ``OperationalError`` here as anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

from plugin.db import DbSession
from plugin.db.prepared import execute

VALUES_ROWS = 1000  # rows per multi-row INSERT: at most 9,000 parameters, under SQLite's 32,766


def mark(session: DbSession) -> str:
    """The driver's parameter marker (``?`` on SQLite, ``%s`` on psycopg)."""
    return "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"


def bind_value(session: DbSession, column: Any, value: Any) -> Any:
    """``value`` as the driver takes it for ``column`` (what SQLAlchemy would send), worked out once."""
    dialect = session.get_bind().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value


def rows(session: DbSession, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Every row of one statement in the driver's own SQL (see ``mark``), as the driver's tuples."""
    connection = session.connection()
    cursor = connection.connection.cursor()  # the session's connection: inside its transaction
    try:
        execute(cursor.execute, connection.dialect, sql, tuple(params))
        return list(cursor.fetchall()) if cursor.description is not None else []
    finally:
        cursor.close()


def first_column(session: DbSession, sql: str, params: Sequence[Any]) -> list[Any]:
    """The first column of each row of a query (``{mark}`` for each parameter)."""
    return [row[0] for row in rows(session, sql.format(mark=mark(session)), params)]


def select_in(session: DbSession, sql: str, keys: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a query whose ``{keys}`` is a list of ``keys``."""
    if not keys:
        return []
    return rows(session, sql.format(keys=", ".join([mark(session)] * len(keys))), keys)


def insert_many(session: DbSession, table: str, columns: Sequence[str], values: Sequence[tuple[Any, ...]],
                returning: str | None = None) -> list[tuple[Any, ...]]:
    """Multi-row ``INSERT`` of plain values, ``VALUES_ROWS`` rows a statement. With ``returning`` (SQLite 3.35+,
    PostgreSQL), those columns of the new rows, in no particular order."""
    one = f"({', '.join([mark(session)] * len(columns))})"
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), VALUES_ROWS):
        chunk = values[start:start + VALUES_ROWS]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * len(chunk))}"
        found += rows(session, sql + (f" RETURNING {returning}" if returning else ""),
                      tuple(chain.from_iterable(chunk)))
    return found


def insert_keyed(session: DbSession, table: str, columns: Sequence[str], values: Sequence[tuple[Any, ...]]
                 ) -> list[tuple[Any, int]]:
    """Multi-row ``INSERT`` into a table with an integer ``id`` whose rows start with a unique key; ``(key, id)``
    of each new row. PostgreSQL says them (``RETURNING``). SQLite numbers the rows of one statement one after
    another from its largest id (https://www.sqlite.org/autoinc.html) and tells the last: the ids follow from it,
    without the cost of ``RETURNING`` (a third of the insert), when no id was picked at random, which happens only
    after the largest possible id and then shows as a largest id that is not the last one given."""
    if session.get_bind().dialect.name != "sqlite":
        return [(row[0], row[1]) for row in insert_many(session, table, columns, values, returning=f"{columns[0]}, id")]
    found: list[tuple[Any, int]] = []
    for start in range(0, len(values), VALUES_ROWS):
        chunk = values[start:start + VALUES_ROWS]
        insert_many(session, table, columns, chunk)
        last = rows(session, "SELECT last_insert_rowid(), max(id) FROM " + table)[0]
        if last[0] != last[1]:
            raise RuntimeError(f"{table}: ids given at random")  # only once the largest possible id is taken
        found += zip((row[0] for row in chunk), range(last[0] - len(chunk) + 1, last[0] + 1), strict=True)
    return found
