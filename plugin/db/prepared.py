"""Core statements compiled once per dialect and run on the driver's own cursor: the hot paths' SQL.

SQLAlchemy spends far more time around a short statement than the database spends running it (the cache
lookup, parameter processing, a ``Result`` and ``Row`` objects, the session finding its connection): on the
webhook intake that is most of a delivery's cost. A ``Prepared`` statement keeps its definition in Core, where
the rest of the code can read and test it, and does that work once: the SQL string in the driver's parameter
style, the order of its parameters, the literal values it carries, and the type conversions of its parameters
and its result columns. Running it is one ``cursor.execute`` and a conversion per value.

Only plain parameters are supported (no ``expanding`` IN lists); use it on a connection inside the caller's
transaction (``Driver``), the same transaction as everything else the caller runs.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from plugin.db import DbSession

Processor = Callable[[Any], Any] | None
Statement = Executable | Callable[[str], Executable]  # a statement, or one built for a dialect's name


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters in the driver's order (positional styles) or all of them (named)
    defaults: Mapping[str, Any]  # literal values compiled into the statement as parameters
    binds: tuple[tuple[str, Processor], ...]  # parameters whose value the dialect converts
    results: tuple[Processor, ...]  # one per result column; empty when none converts
    row: Any  # a named tuple of the result columns (``row.survey_id``), None without results
    positional: bool

    def arguments(self, params: Mapping[str, Any]) -> Any:
        """``params`` (by bind name) as the driver takes them: literals added, values converted, in order."""
        values = {**self.defaults, **params}
        for name, process in self.binds:
            value = values[name]
            if value is not None:
                values[name] = process(value)  # type: ignore[misc]
        return tuple([values[name] for name in self.names]) if self.positional else values


class Prepared:
    """One Core statement, compiled at first use for each dialect; ``run`` executes it on a DBAPI cursor.

    ``statement`` may be a function of the dialect's name, for the constructs that differ (``ON CONFLICT``).
    """

    __slots__ = ("statement", "_compiled")

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            statement = self.statement if isinstance(self.statement, Executable) else self.statement(dialect.name)
            compiled = self._compiled[dialect.name] = _compile(statement, dialect)
        return compiled

    def run(self, cursor: Any, dialect: Dialect, params: Mapping[str, Any]) -> Any:
        """Execute with ``params`` (by bind name); the cursor, for ``rowcount`` or ``fetch``."""
        compiled = self._for(dialect)
        execute(cursor.execute, dialect, compiled.sql, compiled.arguments(params))
        return cursor

    def run_many(self, cursor: Any, dialect: Dialect, many: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per parameter set, in one ``executemany``."""
        compiled = self._for(dialect)
        execute(cursor.executemany, dialect, compiled.sql, [compiled.arguments(params) for params in many])

    def sql(self, dialect: Dialect) -> str:
        """The statement's SQL in the dialect's parameter style."""
        return self._for(dialect).sql

    def first(self, cursor: Any, dialect: Dialect, params: Mapping[str, Any]) -> Any:
        """The first result row, converted as SQLAlchemy would, as a named tuple of the result columns; or None."""
        row = self.run(cursor, dialect, params).fetchone()
        if row is None:
            return None
        compiled = self._for(dialect)
        if not compiled.results:
            return compiled.row._make(row)
        return compiled.row._make(value if process is None or value is None else process(value)
                                  for process, value in zip(compiled.results, row, strict=True))


def execute(call: Callable[[str, Any], Any], dialect: Dialect, sql: str, arguments: Any) -> None:
    """Run ``call(sql, arguments)`` (a DBAPI cursor's ``execute`` or ``executemany``); the driver's errors
    raised as SQLAlchemy raises them (``OperationalError``...), so every caller handles one kind of error."""
    try:
        call(sql, arguments)
    except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy raises it: OperationalError, IntegrityError...
        raise DBAPIError.instance(sql, arguments, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    positional = compiled.positiontup is not None
    names = tuple(compiled.positiontup) if positional else tuple(binds)
    defaults = {name: bind.effective_value for name, bind in binds.items() if not bind.required}
    processors = []
    for name in dict.fromkeys(names):
        process = binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((name, process))
    columns = list(getattr(statement, "exported_columns", ()))
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
    row = namedtuple("Row", [column.key for column in columns], rename=True) if columns else None  # noqa: PYI024
    return _Compiled(compiled.string, names, defaults, tuple(processors),
                     results if any(results) else (), row, positional)


class Driver:
    """A connection (a session's, found once) and a cursor of its driver connection: prepared statements run in
    its transaction without the session looking its connection up again for each of them.

    The engine's ``before_cursor_execute`` listeners still hear each statement (with no execution context), so
    what counts or traces SQL sees these too; with no listener, that costs one check.
    """

    __slots__ = ("connection", "cursor", "dialect")

    def __init__(self, session_or_connection: DbSession | Connection) -> None:
        connection = session_or_connection
        if not isinstance(connection, Connection):
            connection = connection.connection()
        elif not connection.in_transaction():
            connection.begin()  # what the statements write is committed with the connection's own commit()
        self.connection: Connection = connection
        self.cursor = connection.connection.cursor()
        self.dialect = connection.dialect

    def run(self, prepared: Prepared, params: Mapping[str, Any]) -> Any:
        """Execute; the cursor."""
        self._tell(prepared, params)
        return prepared.run(self.cursor, self.dialect, params)

    def first(self, prepared: Prepared, params: Mapping[str, Any]) -> Any:
        """The first result row (named, converted), or None."""
        self._tell(prepared, params)
        return prepared.first(self.cursor, self.dialect, params)

    def rowcount(self, prepared: Prepared, params: Mapping[str, Any]) -> int:
        """How many rows the statement changed."""
        return int(self.run(prepared, params).rowcount)

    def run_many(self, prepared: Prepared, many: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per parameter set, in one ``executemany``."""
        if many:
            self._tell(prepared, many[0])
        prepared.run_many(self.cursor, self.dialect, many)

    def control(self, statement: str) -> None:
        """Run a statement with no parameters (``BEGIN IMMEDIATE``, ``SAVEPOINT x``...) on the cursor; its errors
        are raised as SQLAlchemy raises them."""
        execute(self.cursor.execute, self.dialect, statement, ())

    def _tell(self, prepared: Prepared, params: Mapping[str, Any]) -> None:
        if not (self.connection._has_events or self.connection.engine._has_events):
            return
        self.connection.dispatch.before_cursor_execute(self.connection, self.cursor, prepared.sql(self.dialect),
                                                       dict(params), None, False)
