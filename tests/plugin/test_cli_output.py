"""Where ``links issue -o FILE`` writes: a new path or a regular file, never a device, FIFO, symlink or folder.

The file holds bearer links: a new one is the owner's alone (0600), an existing one keeps the mode its owner
gave it, and whatever else the path names is refused in one line with nothing issued and nothing replaced.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import click
import pytest
from sqlalchemy import func, select

from plugin.cli.output import atomic_output
from plugin.db import db
from plugin.models import Link


def _setup(run, tmp_path: Path) -> None:
    contacts = tmp_path / "c.csv"
    contacts.write_text("id,segments\nk1,All\nk2,All\n")
    assert run("contacts", "import", str(contacts)).exit_code == 0
    assert run("surveys", "add", "sv", "--url", "https://f.example/s/sv").exit_code == 0


def _issue_to(run, target: Path):
    return run("links", "issue", "--survey", "sv", "--segment", "all", "-o", str(target))


def _refused(result, target: Path, what: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: cannot write {target}: it is {what}, not a regular file\n"
    assert db.session.scalar(select(func.count()).select_from(Link)) == 0  # refused before any link is issued


def test_a_fifo_is_refused_and_stays_a_fifo(run, tmp_path: Path) -> None:
    _setup(run, tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _refused(_issue_to(run, fifo), fifo, "a FIFO")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symlink_is_refused_and_its_target_untouched(run, tmp_path: Path) -> None:
    _setup(run, tmp_path)
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me\n")
    link = tmp_path / "links.csv"
    link.symlink_to(target)
    _refused(_issue_to(run, link), link, "a symbolic link")
    assert link.is_symlink() and target.read_text() == "keep me\n"


def test_a_dangling_symlink_is_refused_too(run, tmp_path: Path) -> None:
    """Following it would create a file wherever the link points."""
    _setup(run, tmp_path)
    link = tmp_path / "links.csv"
    link.symlink_to(tmp_path / "nowhere" / "x.csv")
    _refused(_issue_to(run, link), link, "a symbolic link")
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()


def test_a_folder_is_refused_in_one_line(run, tmp_path: Path) -> None:
    _setup(run, tmp_path)
    folder = tmp_path / "out"
    folder.mkdir()
    _refused(_issue_to(run, folder), folder, "a folder")
    assert folder.is_dir() and list(folder.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_character_device_is_refused_and_stays_a_device(run, tmp_path: Path) -> None:
    """A private copy of /dev/null (same major and minor), made in tmp_path: the real one is never at risk."""
    _setup(run, tmp_path)
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    _refused(_issue_to(run, null), null, "a character device")
    assert stat.S_ISCHR(os.lstat(null).st_mode)


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_an_existing_file_keeps_its_mode(run, tmp_path: Path, mode: int) -> None:
    _setup(run, tmp_path)
    out = tmp_path / "links.csv"
    out.write_text("old\n")
    out.chmod(mode)
    result = _issue_to(run, out)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(out).st_mode) == mode
    assert out.read_text().startswith("Formbricks Contact ID,")


def test_a_new_file_is_the_owners_alone(run, tmp_path: Path) -> None:
    _setup(run, tmp_path)
    old = os.umask(0o022)  # the usual umask, which would give 0644
    try:
        result = _issue_to(run, tmp_path / "links.csv")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(tmp_path / "links.csv").st_mode) == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["c.csv", "links.csv"]  # no temporary file left


def test_what_appears_at_a_new_path_while_writing_is_not_replaced(tmp_path: Path) -> None:
    """The check comes first and the rename last: a file made in between (by someone else) is kept."""
    target = tmp_path / "links.csv"
    with pytest.raises(click.ClickException, match="something appeared there while writing"):
        with atomic_output(str(target)) as out:
            out.write("ours\n")
            target.write_text("theirs\n")
    assert target.read_text() == "theirs\n" and list(tmp_path.iterdir()) == [target]


def test_a_file_swapped_for_a_symlink_while_writing_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "links.csv"
    target.write_text("old\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("keep\n")
    with pytest.raises(click.ClickException, match="it is a symbolic link"):
        with atomic_output(str(target)) as out:
            out.write("ours\n")
            target.unlink()
            target.symlink_to(elsewhere)
    assert target.is_symlink() and elsewhere.read_text() == "keep\n"
    assert sorted(tmp_path.iterdir()) == [elsewhere, target]
