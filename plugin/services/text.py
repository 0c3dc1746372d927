"""Text the sidecar accepts anywhere: what SQLite and PostgreSQL both store the same way.

PostgreSQL refuses NUL characters and neither database can encode a lone surrogate (``"\\ud800"``, which JSON
escapes and non-UTF-8 command-line arguments produce). Every request's path, query, form and JSON body, every
CLI argument and every imported contact is checked here, so both databases hold the same data and the caller
gets a refusal naming the field rather than a 500.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plugin.errors import InvalidInput


class UnstorableText(InvalidInput):
    """Raised when a text field holds a NUL character or a lone surrogate; ``details`` names the field."""


def problem(value: str) -> str | None:
    """What makes ``value`` unstorable, or None when it is fine."""
    if "\x00" in value:
        return "holds a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"holds a lone surrogate (U+{ord(value[exc.start]):04X}), which is not Unicode text"
    return None


def check_text(field: str, value: str) -> str:
    """``value`` itself; UnstorableText naming ``field`` when it cannot be stored."""
    issue = problem(value)
    if issue is not None:
        raise UnstorableText(field, issue)
    return value


def check_pairs(kind: str, pairs: Iterable[tuple[str, str]]) -> None:
    """Names and values of a query string or form: the value is named by its parameter."""
    for name, value in pairs:
        check_text(f"{kind} parameter name", name)
        check_text(name, value)


def check_tree(value: Any, field: str = "") -> None:
    """Every string (and object key) of a parsed JSON document; fields named like ``filters[0].value``."""
    stack: list[tuple[str, Any]] = [(field, value)]
    while stack:  # not recursive: a deeply nested document must not blow the stack
        path, item = stack.pop()
        if isinstance(item, str):
            check_text(path or "body", item)
        elif isinstance(item, dict):
            for key, child in item.items():
                check_text(f"{path or 'body'} (a key)", key)
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
