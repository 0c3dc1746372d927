"""What an error may say in a log line or a stored record: its kind and a safe message, never the values bound.

A database error's text carries its statement and parameters (``[SQL: ...] [parameters: ...]``) and, from
PostgreSQL, a ``DETAIL`` line quoting the row (``Key (email)=(ann@example.com) already exists``): a failed contact
sync would write addresses into ``job_runs.error`` and the log. ``describe`` gives the error's kind and the first
line of its message with quoted values masked, for INFO and above and for stored records; ``in_full`` gives the
whole text (the statement, the parameters' names) with every value masked, for DEBUG.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import StatementError

from adapters.base import AdapterError
from plugin.errors import ServiceError

MASK = "***"
# quoted literals, "=(value)" of a key or row, a trailing ': "value"' (PostgreSQL's invalid input), addresses
_VALUES = (re.compile(r"'(?:[^']|'')*'"), re.compile(r"=\((?:[^()]|\([^()]*\))*\)"), re.compile(r': "[^"]*"$', re.M),
           re.compile(r"[^\s'\"()<>@,;:]+@[^\s'\"()<>@,;:]+"))
_REPLACEMENTS = (f"'{MASK}'", f"=({MASK})", f': "{MASK}"', MASK)
_ADDRESS = 3  # the written messages of our own errors keep their quotes; addresses go from every message


def mask(text: str, *, quotes: bool = True) -> str:
    """``text`` with the values it quotes masked (``quotes=False``: only e-mail addresses)."""
    for index, (pattern, replacement) in enumerate(zip(_VALUES, _REPLACEMENTS, strict=True)):
        if quotes or index == _ADDRESS:
            text = pattern.sub(replacement, text)
    return text


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def kind_of(exc: BaseException) -> str:
    """The error's kind: the driver's class for a database error (``OperationalError``), else its own class."""
    orig = exc.orig if isinstance(exc, StatementError) else None
    return type(orig if orig is not None else exc).__name__


def describe(exc: BaseException, limit: int = 500) -> str:
    """``Kind: message``, one line, without the statement or any value it was given."""
    if isinstance(exc, StatementError):
        message = mask(_first_line(str(exc.orig if exc.orig is not None else exc.args[0] if exc.args else "")))
    elif isinstance(exc, (ServiceError, AdapterError)):  # written to be shown; still no address
        message = mask(_first_line(str(exc)), quotes=False)
    else:
        message = mask(_first_line(str(exc)))
    return f"{kind_of(exc)}: {message}"[:limit] if message else kind_of(exc)


def _masked_parameters(params: Any) -> str:
    if isinstance(params, Mapping):
        return "{" + ", ".join(f"{key!r}: {MASK}" for key in params) + "}"
    if isinstance(params, Sequence) and not isinstance(params, (str, bytes)):
        if params and all(isinstance(item, (Mapping, Sequence)) and not isinstance(item, (str, bytes))
                          for item in params):
            return f"[{len(params)} rows, e.g. {_masked_parameters(params[0])}]"
        return "(" + ", ".join(MASK for _ in params) + ")"
    return MASK


def in_full(exc: BaseException) -> str:
    """The whole error for DEBUG: every message line, the statement and the parameters' names, values masked;
    then where it was raised. Causes are followed."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StatementError):
            orig = current.orig if current.orig is not None else current
            parts.append(f"{kind_of(current)}: {mask(str(orig).strip())}\n[SQL: {current.statement}]\n"
                         f"[parameters: {_masked_parameters(current.params)}]")
        else:
            parts.append(f"{kind_of(current)}: {mask(str(current).strip())}")
        current = current.__cause__ or current.__context__
    where = "".join(traceback.format_tb(exc.__traceback__)) if exc.__traceback__ else ""
    return "\ncaused by ".join(parts) + (f"\n{where.rstrip()}" if where else "")
