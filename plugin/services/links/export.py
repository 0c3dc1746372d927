"""CSV of personal links, written a batch of rows at a time, with cells neutralised against spreadsheet formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
HEADER = ("Formbricks Contact ID", "Custom ID", "First Name", "Last Name", "Email", "Personal Link")
_FORMULA_STARTS = frozenset("=+-@\t\r")


def neutralised(cells: Iterable[str | None]) -> list[str]:
    """Cells a spreadsheet shows as text: one starting with = + - @, tab or CR gets a leading quote; None is empty.

    A row's cells at once (one comprehension, no call per cell): an export neutralises millions of them.
    """
    return [("'" + cell if cell[0] in _FORMULA_STARTS else cell) if cell else "" for cell in cells]


def neutralise(cell: str | None) -> str:
    """One cell, as ``neutralised`` makes it."""
    return neutralised((cell,))[0]


def csv_chunks(header: Sequence[str], batches: Iterable[Sequence[T]], cells: Callable[[T], Sequence[Any]]
               ) -> Iterator[str]:
    """The header, then the lines of each batch of rows as one chunk (never more than a batch in memory).

    Lines end in CRLF, as the host's CSV does.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for rows in batches:
        writer.writerows(map(cells, rows))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no rows at all: the header alone
        yield buffer.getvalue()


def csv_lines(batches: Iterable[Sequence[Sequence[Any]]], url_of: Callable[[int], str]) -> Iterator[str]:
    """The host's personal-links CSV, streamed: ``batches`` of ``links.export_links`` rows (link id, then the
    contact's host id, custom id, first and last name, e-mail), ``url_of`` a link id's personal link."""
    def cells(row: Sequence[Any]) -> list[str]:
        line = neutralised(row[1:])
        line.append(url_of(row[0]))
        return line

    return csv_chunks(HEADER, batches, cells)
