"""What a command writes: lines that show data without letting it drive the terminal, and files.

Printed data may come from contacts or a synced host: ``shown`` escapes its control characters. A file goes
to a new path or a regular file, through a temporary file renamed into place.

A command that stops half-way (an error, Ctrl-C, a killed process) leaves the target as it was, never a
truncated file that looks complete. Only a new path or a regular file is written: a rename over a device, a
FIFO or a symbolic link would replace it (as root, ``-o /dev/null`` made the machine's /dev/null a regular
file), so those are refused before the command does anything. The files hold bearer links: a new one is the
owner's alone (0600), an existing one keeps the mode (and, where allowed, the owner) it had.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import click

NEW_FILE_MODE = 0o600

# C0 (tab and newline too: they break the tab-separated lines), DEL and C1 controls, the line and paragraph
# separators, and the bidirectional embeddings, overrides and isolates (they reorder what a terminal shows)
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(found: re.Match[str]) -> str:
    char = found.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def shown(text: str) -> str:
    """``text`` as printed to a terminal: control characters as visible escapes (``\\x1b``, ``\\n``), so data
    from contacts or a host (an OSC sequence in a name) never drives the terminal or splits a line."""
    return text if text.isprintable() else _CONTROLS.sub(_escape, text)


def fields(*cells: object) -> str:
    """One tab-separated line of ``cells``, each ``shown`` (None as ``-``): a tab or newline in data stays in
    its cell."""
    return "\t".join(shown("-" if cell is None else str(cell)) for cell in cells)


_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _cannot(path: Path, why: str) -> click.ClickException:
    return click.ClickException(f"cannot write {path}: {why}")


def writable_target(path: Path) -> os.stat_result | None:
    """The regular file at ``path`` (its status), or None for a new path; anything else is a one-line refusal."""
    try:
        found = os.lstat(path)  # lstat: a symbolic link is itself refused, never followed
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _cannot(path, exc.strerror or str(exc)) from None
    if not stat.S_ISREG(found.st_mode):
        kind = next((name for test, name in _KINDS if test(found.st_mode)), "something else")
        raise _cannot(path, f"it is {kind}, not a regular file")
    if not os.access(path, os.W_OK):
        raise _cannot(path, "permission denied")
    return found


def _keep_owner_and_mode(fd: int, existing: os.stat_result | None) -> None:
    """Give the temporary file the target's mode and owner before anything is written to it."""
    if existing is None:
        os.fchmod(fd, NEW_FILE_MODE)
        return
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))
    if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except PermissionError:  # only root may give a file away; the mode is kept all the same
            pass


def _put_in_place(temp: str, path: Path, existing: os.stat_result | None) -> None:
    """Rename the finished file onto ``path``; a new path must still be free (never replace what appeared)."""
    if existing is not None:
        if writable_target(path) is None:
            raise _cannot(path, "it was removed while writing")
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)  # fails when something took the name meanwhile, unlike a rename
    except FileExistsError:
        raise _cannot(path, "something appeared there while writing") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise _cannot(path, exc.strerror or str(exc)) from None
        if writable_target(path) is not None:  # a file system without hard links: check, then rename
            raise _cannot(path, "something appeared there while writing") from None
        os.replace(temp, path)
    else:
        os.unlink(temp)


def output_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``-o/--output FILE`` (default ``-``, standard output), for ``atomic_output``: the checks are its own, so
    click only names the path (its own checks would follow symbolic links and speak in several lines)."""
    return click.option("-o", "--output", type=click.Path(readable=False, allow_dash=True), default="-",
                        show_default=True, help=help_text)


@contextmanager
def atomic_output(target: str) -> Iterator[TextIO]:
    """A text file to write; ``-`` is standard output. The file appears at ``target`` only when all went well."""
    if target == "-":
        yield sys.stdout
        return
    path = Path(target)
    existing = writable_target(path)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)  # made 0600
    except OSError as exc:
        raise _cannot(path, exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            _keep_owner_and_mode(handle.fileno(), existing)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _put_in_place(temp, path, existing)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
