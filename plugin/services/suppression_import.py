"""Suppressions from a CSV file (a bounce or unsubscribe export): one row a suppression, read as a stream.

Columns (header names matched without regard to case, spaces, dashes or underscores; others are ignored):
``contactId`` (or ``id``, ``Formbricks Contact ID``) and/or ``email`` (``e-mail``, ``address``), ``reason``
(bounce, opt-out, complaint), ``at`` (``date``, ``suppressedAt``: ISO-8601; empty: now) and ``note``.

The file is read by ``adapters.csv_text`` (the one CSV reader: any line ends, UTF-8 checked by line). Rows
are checked and stored one at a time in the caller's transaction, so memory stays flat however long the file.
Every bad row is reported by its line (the first ``MAX_REPORTED`` of them) and then nothing is stored: the
caller rolls back on ``BadRows``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO

from adapters.base import SourceFormatError
from adapters.csv_text import reader, text_lines
from plugin.db import DbSession
from plugin.errors import InvalidInput, ServiceError
from plugin.services import suppressions

if TYPE_CHECKING:
    from _csv import Reader as _reader

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_REPORTED = 100  # bad rows named in the error's details
IN_MESSAGE = 5  # of those, named in its one-line message
ALIASES = {"contactid": "contactId", "id": "contactId", "formbrickscontactid": "contactId",
           "email": "email", "emailaddress": "email", "address": "email",
           "reason": "reason", "at": "at", "date": "at", "suppressedat": "at", "note": "note"}


class BadRows(InvalidInput):
    """Raised when rows of the file are bad: ``details`` name each by its line; nothing was stored."""

    def __init__(self, bad: list[tuple[int, str]], total: int) -> None:
        shown = "; ".join(f"line {line}: {issue}" for line, issue in bad[:IN_MESSAGE])
        more = f"; and {total - IN_MESSAGE} more" if total > IN_MESSAGE else ""
        super().__init__("file", f"{total} bad row{'' if total == 1 else 's'}, nothing stored: {shown}{more}")
        self.message = f"file: {total} bad row{'' if total == 1 else 's'}, nothing stored: {shown}{more}"
        self.details = [{"field": f"line {line}", "issue": issue} for line, issue in bad]


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import stored: new suppressions, and rows already covered by one in force."""

    added: int
    already: int


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        key = ALIASES.get(re.sub(r"[\s_\-]", "", name).lower())
        if key is None:
            continue
        if key in found:
            raise InvalidInput("file", f"line 1: two columns mean {key!r}")
        found[key] = index
    if "reason" not in found:
        raise InvalidInput("file", f"line 1: no 'reason' column; the header is {header[:20]!r}")
    if "contactId" not in found and "email" not in found:
        raise InvalidInput("file", "line 1: no 'contactId' or 'email' column")
    return found


def import_csv(session: DbSession, file: BinaryIO, now: datetime, actor: str,
               limit: int = MAX_FILE_BYTES) -> Imported:
    """Record the file's suppressions (``suppressions.add`` each); BadRows when any row is bad, InvalidInput
    naming the line when the file is not UTF-8 CSV of at most ``limit`` bytes."""
    try:
        return _import(session, reader(text_lines(file, limit)), now, actor)
    except SourceFormatError as exc:
        raise InvalidInput("file", exc.message) from None


def _import(session: DbSession, rows: _reader, now: datetime, actor: str) -> Imported:
    try:
        header = next(rows)
    except StopIteration:
        raise InvalidInput("file", "empty: it needs a header row with reason and contactId or email") from None
    except csv.Error as exc:
        raise InvalidInput("file", f"line 1: malformed CSV: {exc}") from None
    columns = _columns(header)
    added = already = total_bad = 0
    bad: list[tuple[int, str]] = []
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InvalidInput("file", f"line {rows.line_num}: malformed CSV: {exc}") from None
        if not any(cell.strip() for cell in row):
            continue
        given = {key: row[index].strip() if index < len(row) else "" for key, index in columns.items()}
        try:
            item = suppressions.entry(session, given, now)
            if total_bad:  # once a row is bad nothing is stored: the rest are only checked
                continue
            _, new = suppressions.add(session, item, now, actor)
        except ServiceError as exc:
            total_bad += 1
            if len(bad) < MAX_REPORTED:
                bad.append((rows.line_num, exc.message))
            continue
        added, already = added + new, already + (not new)
    if total_bad:
        raise BadRows(bad, total_bad)
    return Imported(added, already)
