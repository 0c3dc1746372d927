"""Suppressions from a CSV file (a bounce or unsubscribe export): one row a suppression, read as a stream.

Columns (header names matched without regard to case, spaces, dashes or underscores; others are ignored):
``contactId`` (or ``id``, ``Formbricks Contact ID``) and/or ``email`` (``e-mail``, ``address``), ``reason``
(bounce, opt-out, complaint), ``at`` (``date``, ``suppressedAt``: ISO-8601; empty: now) and ``note``.

The file is read by ``adapters.csv_text`` (the one CSV reader: any line ends, UTF-8 checked by line), twice:
every row is checked first, and stored only when none is bad, one at a time, so memory stays flat however long
the file. Every bad row is reported by its line (the first ``MAX_REPORTED`` of them) and then nothing is stored.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO

from adapters.base import SourceFormatError
from adapters.csv_text import reader, text_lines
from plugin.db import DbSession
from plugin.errors import InvalidInput, ServiceError
from plugin.services.contacts.import_turns import CALLERS_TRANSACTION, Writes
from plugin.services.followup import suppressions

if TYPE_CHECKING:
    from _csv import Reader as _reader

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_REPORTED = 100  # bad rows named in the error's details
IN_MESSAGE = 5  # of those, named in its one-line message
TURN_ROWS = 100  # rows stored a transaction when each batch commits (about 150 ms)
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


def import_csv(session: DbSession, file: BinaryIO, now: datetime, actor: str, limit: int = MAX_FILE_BYTES,
               writes: Writes = CALLERS_TRANSACTION) -> Imported:
    """Record the file's suppressions (``suppressions.add`` each); BadRows when any row is bad, InvalidInput
    naming the line when the file is not UTF-8 CSV of at most ``limit`` bytes.

    Every row is checked before any is stored (the file is read twice: it must be seekable), so a refused file
    stores nothing however ``writes`` commits: in the caller's transaction by default, or ``TURN_ROWS`` rows a
    transaction (``import_turns``). A failure while storing leaves the rows committed so far and says how many
    (a note on the exception); the same file imported again completes it (a row already in force is ``already``).
    """
    try:
        total = _check(session, _rows(file, limit), now)
        file.seek(0)
        try:
            return _store(session, _rows(file, limit), now, actor, writes)
        except BaseException as exc:
            if (note := writes.stopped(total, "rows")) is not None:
                exc.add_note(note)
            raise
    except SourceFormatError as exc:
        raise InvalidInput("file", exc.message) from None


def _rows(file: BinaryIO, limit: int) -> Iterator[tuple[int, dict[str, str]]]:
    """Each row that is not empty, by its line: its fields by their meaning (``ALIASES``)."""
    rows: _reader = reader(text_lines(file, limit))
    try:
        header = next(rows)
    except StopIteration:
        raise InvalidInput("file", "empty: it needs a header row with reason and contactId or email") from None
    except csv.Error as exc:
        raise InvalidInput("file", f"line 1: malformed CSV: {exc}") from None
    columns = _columns(header)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput("file", f"line {rows.line_num}: malformed CSV: {exc}") from None
        if any(cell.strip() for cell in row):
            yield rows.line_num, {key: row[index].strip() if index < len(row) else "" for key, index in columns.items()}


def _check(session: DbSession, rows: Iterator[tuple[int, dict[str, str]]], now: datetime) -> int:
    """Check every row, storing nothing; how many there are. BadRows naming the bad ones."""
    count = total_bad = 0
    bad: list[tuple[int, str]] = []
    for line, given in rows:
        count += 1
        try:
            suppressions.entry(session, given, now)
        except ServiceError as exc:
            total_bad += 1
            if len(bad) < MAX_REPORTED:
                bad.append((line, exc.message))
    if total_bad:
        raise BadRows(bad, total_bad)
    return count


def _store(session: DbSession, rows: Iterator[tuple[int, dict[str, str]]], now: datetime, actor: str,
           writes: Writes) -> Imported:
    """Record each row's suppression, ``TURN_ROWS`` rows a batch (each is audited: a few milliseconds)."""
    added = already = 0
    more = True
    while more:
        with writes.batch() as batch:
            for _line, given in rows:
                _, new = suppressions.add(session, suppressions.entry(session, given, now), now, actor)
                added, already = added + new, already + (not new)
                batch.rows += 1
                if batch.rows == TURN_ROWS:
                    break
            else:
                more = False
    return Imported(added, already)
