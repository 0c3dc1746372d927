"""CSV of personal links, written row by row, with cells neutralised against spreadsheet formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from plugin.services.links import LinkRow

T = TypeVar("T")
HEADER = ("Formbricks Contact ID", "Custom ID", "First Name", "Last Name", "Email", "Personal Link")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str | None) -> str:
    """A cell a spreadsheet shows as text: one starting with = + - @, tab or CR gets a leading quote."""
    if not cell:
        return ""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def csv_stream(header: Sequence[str], rows: Iterable[T], cells: Callable[[T], Sequence[str]],
               batch: int = 500) -> Iterator[str]:
    """The header, then one line per row, yielded in chunks of ``batch`` rows (never all in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow(cells(row))
        if count % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_lines(rows: Iterable[LinkRow], url_of: Callable[[LinkRow], str], batch: int = 500) -> Iterator[str]:
    """The host's personal-links CSV of ``rows``, streamed."""
    return csv_stream(HEADER, rows, lambda row: (
        neutralise(row.contact_host_id), neutralise(row.custom_id), neutralise(row.first_name),
        neutralise(row.last_name), neutralise(row.email), url_of(row)), batch)
