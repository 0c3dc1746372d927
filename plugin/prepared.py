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
    positional: bool


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
        values = {**compiled.defaults, **params} if compiled.defaults else dict(params)
        for name, process in compiled.binds:
            value = values[name]
            if value is not None:
                values[name] = process(value)  # type: ignore[misc]
        arguments = tuple([values[name] for name in compiled.names]) if compiled.positional else values
        try:
            cursor.execute(compiled.sql, arguments)
        except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy raises it: OperationalError, IntegrityError...
            raise DBAPIError.instance(compiled.sql, arguments, exc, dialect.loaded_dbapi.Error,
                                      dialect=dialect) from exc
        return cursor

    def run_many(self, cursor: Any, dialect: Dialect, many: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per parameter set, in one ``executemany``."""
        compiled = self._for(dialect)
        rows = []
        for params in many:
            values = {**compiled.defaults, **params}
            for name, process in compiled.binds:
                value = values[name]
                if value is not None:
                    values[name] = process(value)  # type: ignore[misc]
            rows.append(tuple([values[name] for name in compiled.names]) if compiled.positional else values)
        try:
            cursor.executemany(compiled.sql, rows)
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(compiled.sql, rows, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc

    def sql(self, dialect: Dialect) -> str:
        """The statement's SQL in the dialect's parameter style."""
        return self._for(dialect).sql

    def first(self, cursor: Any, dialect: Dialect, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first result row (converted as SQLAlchemy would), or None."""
        row = self.run(cursor, dialect, params).fetchone()
        results = self._for(dialect).results
        if row is None or not results:
            return row
        return tuple(value if process is None or value is None else process(value)
                     for process, value in zip(results, row, strict=True))


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
    columns = getattr(statement, "exported_columns", ())
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
    return _Compiled(compiled.string, names, defaults, tuple(processors),
                     results if any(results) else (), positional)


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
        if self.connection._has_events or self.connection.engine._has_events:
            self._tell(prepared, params)
        return prepared.run(self.cursor, self.dialect, params)

    def first(self, prepared: Prepared, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first result row, converted, or None."""
        if self.connection._has_events or self.connection.engine._has_events:
            self._tell(prepared, params)
        return prepared.first(self.cursor, self.dialect, params)

    def rowcount(self, prepared: Prepared, params: Mapping[str, Any]) -> int:
        """How many rows the statement changed."""
        return int(self.run(prepared, params).rowcount)

    def run_many(self, prepared: Prepared, many: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per parameter set, in one ``executemany``."""
        if many and (self.connection._has_events or self.connection.engine._has_events):
            self._tell(prepared, many[0])
        prepared.run_many(self.cursor, self.dialect, many)

    def _tell(self, prepared: Prepared, params: Mapping[str, Any]) -> None:
        self.connection.dispatch.before_cursor_execute(self.connection, self.cursor, prepared.sql(self.dialect),
                                                       dict(params), None, False)
