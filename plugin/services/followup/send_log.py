"""A mailer's send log (CSV) recorded as contacts made: every row checked, all recorded or none.

Columns, named as mailers tend to (case, spaces, ``_`` and ``-`` do not matter): ``contact id`` (or ``contactId``,
``id``) or ``email``; ``survey`` (or ``surveyId``); ``kind``; ``channel``; ``sent at`` (or ``sentAt``,
``timestamp``). ``survey``, ``kind`` and ``channel`` may be given once for the whole file instead. Rows are read
and stored a batch at a time in the caller's transaction; a bad row is reported by its line and, at the end, the
whole import is refused (InvalidInput listing the lines): the caller's rollback leaves nothing recorded. The file
is read by ``adapters.csv_text``, the one CSV reader (any line ends, UTF-8 checked by line).
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from typing import Any, BinaryIO

from adapters.base import SourceFormatError
from adapters.csv_text import reader, text_lines
from plugin.db import DbSession
from plugin.errors import InvalidInput
from plugin.services.followup import contacts_made
from plugin.services.followup.contacts_made import Entry

ALIASES = {"contactid": "contact", "contact": "contact", "id": "contact", "email": "email", "emailaddress": "email",
           "survey": "survey", "surveyid": "survey", "kind": "kind", "type": "kind", "channel": "channel",
           "sentat": "sent_at", "sent": "sent_at", "timestamp": "sent_at", "date": "sent_at"}
BATCH = 1000
MAX_PROBLEMS = 50
MAX_FILE_BYTES = 64 * 1024 * 1024
WHAT = "send log refused, nothing recorded"


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        column = ALIASES.get(re.sub(r"[\s_\-]", "", name.strip().lower()))
        if column is not None:
            if column in found:
                raise InvalidInput("header", f"two columns mean {column!r}: {header[found[column]]!r}, {name!r}")
            found[column] = index
    if "contact" not in found and "email" not in found:
        raise InvalidInput("header", "a 'contact id' or 'email' column is required")
    return found


def _entry(line: int, cells: list[str], columns: dict[str, int], defaults: dict[str, str | None],
           now: datetime) -> Entry:
    def cell(name: str) -> str | None:
        index = columns.get(name)
        value = cells[index].strip() if index is not None and index < len(cells) else ""
        return value or defaults.get(name)

    where = f"line {line}"
    item: dict[str, Any] = {"contactId": cell("contact"), "email": cell("email"), "surveyId": cell("survey"),
                            "kind": cell("kind"), "channel": cell("channel"), "sentAt": cell("sent_at")}
    if item["contactId"] and item["email"]:
        item["email"] = None  # both given: the contact id names the contact
    return contacts_made.parse_entry(where, item, now)


def _at_line(field: str) -> str:
    """``line 7.channel`` (the entry's field) as ``line 7, channel``."""
    return field.replace(".", ", ", 1)


def import_send_log(session: DbSession, file: BinaryIO, now: datetime, actor: str, *,
                    survey_id: str | None = None, kind: str | None = None, channel: str | None = None,
                    source: str = "import") -> int:
    """Record every row of the send log; how many. InvalidInput naming the bad lines (at most ``MAX_PROBLEMS``)
    when any row is bad or unknown: the caller rolls back, nothing is half-applied."""
    rows = reader(text_lines(file, MAX_FILE_BYTES))
    try:
        header = next(rows, None)
        if header is None:
            raise InvalidInput("file", "is empty: a header row and one row per message sent are required")
        columns = _columns(header)
        defaults = {"survey": survey_id, "kind": kind, "channel": channel}
        problems: list[tuple[str, str]] = []
        pending: list[Entry] = []
        recorded = 0
        for cells in rows:
            if not any(cell.strip() for cell in cells):
                continue
            try:
                pending.append(_entry(rows.line_num, cells, columns, defaults, now))
            except InvalidInput as exc:
                problems.extend((_at_line(d["field"]), d["issue"]) for d in exc.details)
            if len(pending) >= BATCH:
                recorded += _store(session, pending, problems, now, actor, source)
                pending = []
            if len(problems) >= MAX_PROBLEMS:
                break
        recorded += _store(session, pending, problems, now, actor, source)
    except csv.Error as exc:
        raise InvalidInput(f"line {rows.line_num}", f"not CSV: {exc}") from None
    except SourceFormatError as exc:
        raise InvalidInput("file", exc.message) from None
    if problems:
        raise InvalidInput.of(problems[:MAX_PROBLEMS], WHAT)
    if recorded == 0:
        raise InvalidInput("file", "holds no rows: one row per message sent is required")
    return recorded


def _store(session: DbSession, entries: list[Entry], problems: list[tuple[str, str]], now: datetime, actor: str,
           source: str) -> int:
    """Resolve a batch and store it unless a problem was found (so far): then only the problems count."""
    if not entries:
        return 0
    rows, found = contacts_made.resolve(session, entries)
    problems.extend((_at_line(field), issue) for field, issue in found)
    if problems:
        return 0
    return contacts_made.insert_rows(session, rows, now, actor, source)
