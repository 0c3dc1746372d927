"""Contacts and segments from a CSV file: the demo default and the contact source for hosts without one.

Columns (header names are matched without regard to case, spaces or underscores):
- ``id`` (or ``contactId``, ``Formbricks Contact ID``): the host's contact id, required, unique;
- ``userId`` (or ``Custom ID``, ``User ID``), ``email``, ``firstName`` (``First Name``), ``lastName``;
- ``segments``: the contact's segment titles, separated by ``;``;
- any other column becomes an attribute of that name (empty cells are left out).
The file is UTF-8 (a byte-order mark is allowed), comma-separated, with a header row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from adapters.base import ConfigurationError, Contact, Segment, SourceFormatError

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
    """A contact source reading one CSV file; parsing is strict and every error names its line."""

    name = "csv"

    def __init__(self, path: str | Path | None = None, *, text: str | None = None) -> None:
        if (path is None) == (text is None):
            raise ValueError("give a path or a text")
        self._contacts, self._segments = _parse(_read(path) if path is not None else text or "")

    @classmethod
    def from_config(cls, config: dict[str, object]) -> CsvContactSource:
        """The source named by ``CONTACTS_CSV``."""
        path = config.get("CONTACTS_CSV")
        if not path:
            raise ConfigurationError("PERSONAL_LINKS_CONTACTS_CSV is not set: name the contact file to read")
        return cls(str(path))

    def __len__(self) -> int:
        """How many contacts the file holds."""
        return len(self._contacts)

    def contacts(self) -> Iterator[Contact]:
        """Every contact of the file, in file order."""
        return iter(self._contacts)

    def segments(self) -> Sequence[Segment]:
        """The segments the file names, with their members."""
        return self._segments


def _read(path: str | Path) -> str:
    file = Path(path)
    try:
        if file.exists() and not file.is_file():
            raise SourceFormatError(f"{file} is not a regular file")
        with file.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # at most one byte past the limit, whatever stat says
    except OSError as exc:
        raise SourceFormatError(f"cannot read {file}: {exc.strerror}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise SourceFormatError(f"{file} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    return decode(raw)


def decode(raw: bytes) -> str:
    """The text of a contact file; SourceFormatError naming the line when it is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceFormatError("the file is not UTF-8 text (save it as CSV UTF-8)", line=line) from None


def _add_member(members: dict[str, tuple[str, list[str]]], title: str, host_id: str, line: int) -> None:
    """Add a contact to the segment a title names; two titles that would share one id are an error."""
    if len(title) > MAX_ID_LENGTH:
        raise SourceFormatError(f"segment title longer than {MAX_ID_LENGTH} characters", line=line)
    sid = segment_id_for(title)
    known = members.setdefault(sid, (title, []))
    if known[0] != title:
        raise SourceFormatError(f"segments {known[0]!r} and {title!r} would share the id {sid!r}: rename one",
                                line=line)
    known[1].append(host_id)


def _parse(text: str) -> tuple[list[Contact], list[Segment]]:
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise SourceFormatError("the file contains NUL bytes: it is not a CSV text file")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise SourceFormatError("the file is empty: it needs a header row with an 'id' column") from None
    except csv.Error as exc:
        raise SourceFormatError(f"malformed CSV: {exc}", line=1) from None
    names = [ALIASES.get(_key(column), column.strip()) for column in header]
    if "id" not in names:
        raise SourceFormatError(f"no 'id' column (the host's contact id); the header is {header!r}", line=1)
    seen: dict[str, int] = {}
    for name in names:
        if not name:
            raise SourceFormatError("a column has an empty name", line=1)
        if name in seen:
            raise SourceFormatError(f"column {name!r} appears twice", line=1)
        seen[name] = 1
    contacts: list[Contact] = []
    lines: dict[str, int] = {}
    members: dict[str, tuple[str, list[str]]] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                raise SourceFormatError(f"{len(row)} cells where the header has {len(names)}", line=line)
            record = dict(zip(names, (cell.strip() for cell in row), strict=True))
            host_id = record.pop("id")
            if not host_id:
                raise SourceFormatError("empty id", line=line)
            if host_id in lines:
                raise SourceFormatError(f"id {host_id!r} already on line {lines[host_id]}", line=line)
            lines[host_id] = line
            if len(host_id) > MAX_ID_LENGTH:
                raise SourceFormatError(f"id longer than {MAX_ID_LENGTH} characters", line=line)
            for title in (record.pop("segments", "") or "").split(SEGMENT_SEPARATOR):
                if title.strip():
                    _add_member(members, title.strip(), host_id, line)
            contacts.append(Contact(
                host_id=host_id,
                custom_id=record.pop("userId", None) or None,
                email=record.pop("email", None) or None,
                first_name=record.pop("firstName", None) or None,
                last_name=record.pop("lastName", None) or None,
                attributes={key: value for key, value in record.items() if value},
            ))
    except csv.Error as exc:
        raise SourceFormatError(f"malformed CSV: {exc}", line=reader.line_num) from None
    segments = [Segment(id=sid, title=title, member_ids=tuple(ids)) for sid, (title, ids) in members.items()]
    return contacts, segments
