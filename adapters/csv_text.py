"""The one way a CSV file or request body is read: bytes in, checked text lines out, for ``csv.reader``.

Every CSV the sidecar takes (contacts, suppressions, a mailer's send log; from a file or an API body) comes
through ``text_lines``, so they all accept the same files and refuse the others in the same words:

- a line ends at LF, CRLF or a CR alone (what old Mac "CSV" exports write); the line end stays on the line, so
  a line break inside a quoted cell reaches the cell as written (``csv.reader`` joins the lines of a quoted
  cell), and ``csv.reader`` never meets Python's "new-line character seen in unquoted field";
- each line is UTF-8 (a byte-order mark at the start is dropped) without NUL, else refused naming the line;
- past ``limit`` bytes the file is refused.

It reads a megabyte at a time and splits on bytes (no UTF-8 sequence holds a CR or LF byte), so memory stays
flat however long the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from adapters.base import SourceFormatError

if TYPE_CHECKING:
    from _csv import Reader as _reader

CHUNK = 1 << 20
MAX_LINE = 16 * 1024 * 1024  # longer, it is no CSV of ours (and a line is held whole in memory)


def _byte_lines(handle: BinaryIO, limit: int, chunk_size: int) -> Iterator[bytes]:
    rest = b""
    read = 0
    while chunk := handle.read(chunk_size):
        read += len(chunk)
        if read > limit:  # whatever its size said: a file may grow while it is read
            raise SourceFormatError(f"larger than {limit // (1024 * 1024)} MiB")
        lines = (rest + chunk).splitlines(keepends=True)  # bytes split at LF, CRLF and CR only
        rest = lines.pop()
        if rest.endswith(b"\n"):
            lines.append(rest)
            rest = b""
        # a CR at the very end may be the first half of a CRLF: it waits for the next read (as does a line
        # without its end)
        yield from lines
        if len(rest) > MAX_LINE:
            raise SourceFormatError(f"a line longer than {MAX_LINE // (1024 * 1024)} MiB: not a CSV text file")
    if rest:
        yield rest


def text_lines(handle: BinaryIO, limit: int, *, chunk_size: int = CHUNK) -> Iterator[str]:
    """The lines of a UTF-8 CSV file or body as text, each with its line end; SourceFormatError naming the line
    when one is not UTF-8 or holds a NUL, or when there are more than ``limit`` bytes."""
    for number, raw in enumerate(_byte_lines(handle, limit, chunk_size), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceFormatError("not UTF-8 text (save it as CSV UTF-8)", line=number) from None
        if "\x00" in line:
            raise SourceFormatError("holds a NUL byte: not a CSV text file", line=number)
        yield line.removeprefix("\ufeff") if number == 1 else line


def reader(lines: Iterator[str]) -> _reader:
    """``csv.reader`` over ``text_lines``, strict: a stray quote is an error (its ``line_num`` names the line)."""
    return csv.reader(lines, strict=True)
