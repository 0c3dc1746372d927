"""Contacts and segments from a CSV file: the demo default and the contact source for hosts without one.

Columns (header names are matched without regard to case, spaces or underscores):
- ``id`` (or ``contactId``, ``Formbricks Contact ID``): the host's contact id, required, unique;
- ``userId`` (or ``Custom ID``, ``User ID``), ``email``, ``firstName`` (``First Name``), ``lastName``;
- ``segments``: the contact's segment titles, separated by ``;``;
- any other column becomes an attribute of that name (empty cells are left out).
The file is UTF-8 (a byte-order mark is allowed), comma-separated, with a header row.

The file is read as a stream, one row at a time, so memory stays flat however long it is: an error late in
the file shows only when the reading gets there, and whoever stores the contacts does so in one transaction.
Ids repeated far apart are found by that store (it sees every id); the reader checks each row on its own.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from operator import itemgetter
from pathlib import Path

from adapters.base import ConfigurationError, Contact, Segment, SourceFormatError, attribute_name_problem
from adapters.csv_text import reader, text_lines

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_ID_LENGTH = 255  # contact ids and segment titles, as the sidecar stores them
ALIASES = {
    "id": "id", "contactid": "id", "formbrickscontactid": "id",
    "userid": "userId", "customid": "userId",
    "email": "email", "firstname": "firstName", "lastname": "lastName", "segments": "segments",
}
SEGMENT_SEPARATOR = ";"


def _key(header: str) -> str:
    return re.sub(r"[\s_\-]", "", header).lower()


def segment_id_for(title: str) -> str:
    """The stable id of a segment named in a file: its title in lower case, words (any script) joined by '-'."""
    slug = re.sub(r"[\W_]+", "-", title.lower()).strip("-")
    return slug or "segment"


class CsvContactSource:
    """A contact source reading one CSV file as a stream; parsing is strict and every error names its line.

    The header is checked at once; the rows when ``contacts()`` is read. ``segments()`` is complete once
    ``contacts()`` has been read to its end (each contact also names its own segments).
    """

    name = "csv"

    def __init__(self, path: str | Path | None = None, *, text: str | None = None) -> None:
        if (path is None) == (text is None):
            raise ValueError("give a path or a text")
        self._path = Path(path) if path is not None else None
        self._text = text
        self._segments: dict[str, Segment] = {}
        if self._path is not None:
            _check_file(self._path)
        with self._lines() as lines:
            _header(reader(lines))

    @property
    def text_checked(self) -> bool:
        """Whether every text it gives is storable as it is: read from a file, each line strictly decoded from
        UTF-8 (so no lone surrogate) and refused with a NUL; every attribute a string. (Its lengths are the
        importer's to check.)"""
        return self._path is not None

    @classmethod
    def from_config(cls, config: dict[str, object]) -> CsvContactSource:
        """The source named by ``CONTACTS_CSV``."""
        path = config.get("CONTACTS_CSV")
        if not path:
            raise ConfigurationError("PERSONAL_LINKS_CONTACTS_CSV is not set: name the contact file to read")
        return cls(str(path))

    def line_count(self) -> int:
        """The lines after the header: as many as the contacts unless cells hold line breaks (for progress)."""
        if self._text is not None:
            return max(self._text.count("\n") - 1, 0)
        assert self._path is not None
        ends = [0, 0]
        with _open(self._path) as handle:
            while chunk := handle.read(1 << 20):
                ends[0] += chunk.count(b"\n")
                ends[1] += chunk.count(b"\r")
        return max(max(ends) - 1, 0)  # LF or CRLF ends: as many LFs as lines; CR ends: as many CRs

    def contacts(self) -> Iterator[Contact]:
        """Every contact of the file, in file order, each carrying its segments and its line."""
        with self._lines() as lines:
            yield from _rows(lines, self._segments)

    def segments(self) -> Sequence[Segment]:
        """The segments the file names (their members are named by the contacts); all once read to the end."""
        return list(self._segments.values())

    def _lines(self) -> _Lines:
        return _Lines(self._path, self._text)


class _Lines:
    """The file's text lines (UTF-8 checked line by line, the byte-order mark dropped), as a context."""

    def __init__(self, path: Path | None, text: str | None) -> None:
        self._path, self._text = path, text
        self._handle: io.BufferedReader | None = None

    def __enter__(self) -> Iterator[str]:
        if self._path is None:
            lines = io.StringIO((self._text or "").removeprefix("\ufeff"), newline="")
            return (_no_nul(line, number) for number, line in enumerate(lines, start=1))
        self._handle = _open(self._path)
        return text_lines(self._handle, MAX_FILE_BYTES)

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()


def _open(file: Path) -> io.BufferedReader:
    try:
        return file.open("rb")
    except OSError as exc:
        raise SourceFormatError(f"cannot read {file}: {exc.strerror}") from exc


def _check_file(file: Path) -> None:
    try:
        if file.exists() and not file.is_file():
            raise SourceFormatError(f"{file} is not a regular file")
        size = file.stat().st_size
    except OSError as exc:
        raise SourceFormatError(f"cannot read {file}: {exc.strerror}") from exc
    if size > MAX_FILE_BYTES:
        raise SourceFormatError(f"{file} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")


def _no_nul(line: str, number: int) -> str:
    if "\x00" in line:
        raise SourceFormatError("the file contains NUL bytes: it is not a CSV text file", line=number)
    return line


def _segment(found: dict[str, Segment], title: str, line: int) -> Segment:
    """The segment a title names; two titles that would share one id are an error."""
    if len(title) > MAX_ID_LENGTH:
        raise SourceFormatError(f"segment title longer than {MAX_ID_LENGTH} characters", line=line)
    sid = segment_id_for(title)
    known = found.setdefault(sid, Segment(id=sid, title=title))
    if known.title != title:
        raise SourceFormatError(f"segments {known.title!r} and {title!r} would share the id {sid!r}: rename one",
                                line=line)
    return known


def _header(reader: Iterator[list[str]]) -> list[str]:
    """The column names of the header row, checked."""
    try:
        header = next(reader)
    except StopIteration:
        raise SourceFormatError("the file is empty: it needs a header row with an 'id' column") from None
    except csv.Error as exc:
        raise SourceFormatError(f"malformed CSV: {exc}", line=1) from None
    names = [ALIASES.get(_key(column), column.strip()) for column in header]
    if "id" not in names:
        raise SourceFormatError(f"no 'id' column (the host's contact id); the header is {header!r}", line=1)
    seen: set[str] = set()
    for name in names:
        if not name:
            raise SourceFormatError("a column has an empty name", line=1)
        if name in seen:
            raise SourceFormatError(f"column {name[:60]!r} appears twice", line=1)
        if (problem := attribute_name_problem(name)) is not None:
            raise SourceFormatError(f"column {name[:60] + '...'!r}: {problem}", line=1)
        seen.add(name)
    return names


def _rows(lines: Iterator[str], found: dict[str, Segment]) -> Iterator[Contact]:
    rows = reader(lines)
    names = _header(rows)
    width = len(names)
    at = {name: index for index, name in enumerate(names)}
    # the named fields of a row in one call; a column the file lacks reads the empty cell put after the last
    fields = itemgetter(*(at.get(key, width) for key in ("id", "userId", "email", "firstName", "lastName", "segments")))
    others = [(index, name) for index, name in enumerate(names) if name not in ALIASES.values()]
    one_index, one_name = others[0] if len(others) == 1 else (-1, "")  # the common case: one more column
    titles: dict[str, tuple[Segment, ...]] = {}  # a cell's text -> its segments: most rows repeat a few
    strip = str.strip
    try:
        for row in rows:
            line = rows.line_num
            if len(row) != width:
                if not any(cell.strip() for cell in row):
                    continue
                raise SourceFormatError(f"{len(row)} cells where the header has {width}", line=line)
            cells = list(map(strip, row))
            cells.append("")
            host_id, custom_id, email, first_name, last_name, cell = fields(cells)
            if not host_id:
                if not any(cells):
                    continue
                raise SourceFormatError("empty id", line=line)
            if len(host_id) > MAX_ID_LENGTH:
                raise SourceFormatError(f"id longer than {MAX_ID_LENGTH} characters", line=line)
            segments = titles.get(cell)
            if segments is None:
                parts = dict.fromkeys(t.strip() for t in cell.split(SEGMENT_SEPARATOR) if t.strip())
                segments = tuple(_segment(found, title, line) for title in parts)
                if len(titles) < 10_000:
                    titles[cell] = segments
            if one_index >= 0:
                attributes = {one_name: cells[one_index]} if cells[one_index] else {}
            else:
                attributes = {name: cells[index] for index, name in others if cells[index]}
            yield Contact(host_id, custom_id or None, email or None, first_name or None, last_name or None,
                          attributes, segments, line)
    except csv.Error as exc:
        raise SourceFormatError(f"malformed CSV: {exc}", line=rows.line_num) from None
