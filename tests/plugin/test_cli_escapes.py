"""Contact data can come from a synced host: what the command line prints of it never drives the terminal.

An OSC sequence in a name would retitle the admin's window (or worse), a newline or tab would break the
tab-separated listing. Printed data shows such characters as visible escapes; a file written with ``-o``
keeps the data as it is.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import click
import pytest

from adapters.csv_file import CsvContactSource
from plugin.cli.base import fail
from plugin.cli.output import shown
from plugin.db import db
from plugin.services.contacts.contacts import import_contacts
from plugin.services.host.surveys import save_survey
from tests.helpers import NOW

OSC = "\x1b]0;pwned\x07"  # sets the terminal's title
NAME = f"Ann{OSC}\nEvil\tX\x9b2J"  # a newline and a tab break the TSV; \x9b is the C1 control sequence introducer
SHOWN = "Ann\\x1b]0;pwned\\x07\\nEvil\\tX\\x9b2J"
TITLE = "Staff\x1b[2J"  # clears the screen (no ";": it separates segments in the file)


def _seed() -> None:
    quoted = NAME.replace('"', '""')
    source = CsvContactSource(text=f'id,email,firstName,segments\nk1,a@x.org,"{quoted}",{TITLE}\nk2,b@x.org,Bo,\n')
    import_contacts(db.session, source.contacts(), source.segments(), NOW, "test")
    save_survey(db.session, "sv", {"name": f"Survey{OSC}", "publicUrl": "https://f.example/s/sv"}, NOW, "plink")
    db.session.commit()


def _clean(text: str) -> None:
    assert not any(ord(char) < 0x20 and char not in "\t\n\r" or 0x7f <= ord(char) <= 0x9f for char in text), text


@pytest.mark.parametrize("text, expected", [
    ("plain Ünïcode text ✓", "plain Ünïcode text ✓"),
    (NAME, SHOWN),
    ("a\rb\x00c\x7fd", "a\\rb\\x00c\\x7fd"),
    ("left\u202eright\u2028next", "left\\u202eright\\u2028next"),  # a bidi override and a line separator
])
def test_shown_escapes_what_a_terminal_acts_on(text: str, expected: str) -> None:
    assert shown(text) == expected


def test_contacts_list_escapes_names_and_keeps_one_line_per_contact(run) -> None:
    _seed()
    result = run("contacts", "list")
    assert result.exit_code == 0, result.output
    _clean(result.stdout)
    lines = result.stdout.splitlines()
    assert lines == [f"k1\t{SHOWN}\ta@x.org\tactive\tstaff-2j", "k2\tBo\tb@x.org\tactive\t-"]


def test_segments_members_and_list_escape_titles_and_names(run) -> None:
    _seed()
    members = run("segments", "members", "staff-2j")
    assert members.exit_code == 0, members.output
    _clean(members.output)
    assert members.stdout.splitlines() == [f"k1\t{SHOWN}\ta@x.org\tactive\tstaff-2j"]
    assert "members of 'Staff\\x1b[2J'" in members.output  # the summary on stderr too
    listed = run("segments", "list")
    _clean(listed.output)
    assert "staff-2j\tStaff\\x1b[2J\tstatic\t1 contacts" in listed.stdout.splitlines()
    surveys = run("surveys", "list")
    _clean(surveys.output)
    assert surveys.stdout.startswith("sv\tSurvey\\x1b]0;pwned\\x07\t")


def test_links_issue_to_standard_output_escapes_but_a_file_keeps_the_data(run, tmp_path: Path) -> None:
    _seed()
    printed = run("links", "issue", "--survey", "sv", "--contact", "k1")
    assert printed.exit_code == 0, printed.output
    _clean(printed.output)
    rows = list(csv.reader(io.StringIO(printed.stdout)))
    assert len(rows) == 2 and rows[1][2] == SHOWN
    out = tmp_path / "links.csv"
    assert run("links", "issue", "--survey", "sv", "--contact", "k1", "-o", str(out)).exit_code == 0
    with out.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle))[1][2] == NAME


def test_suppressions_and_reminder_batches_escape_contact_data(run) -> None:
    _seed()
    added = run("suppressions", "add", "--contact", "k1", "--reason", "bounce", "--note", "see\tthe log")
    assert added.exit_code == 0, added.output
    assert added.stdout.rstrip("\n").endswith("\tsee\\tthe log")
    assert run("links", "issue", "--survey", "sv", "--contact", "k2").exit_code == 0
    db.session.execute(db.text("UPDATE contacts SET last_name = :name WHERE host_id = 'k2'"), {"name": NAME})
    db.session.commit()
    batch = run("reminders", "create", "--survey", "sv", "--min-gap-hours", "0")
    assert batch.exit_code == 0, batch.output
    _clean(batch.output)
    assert SHOWN in batch.stdout


def test_an_error_message_is_one_escaped_line() -> None:
    """Messages name what was given or found (a host's error text, a contact id): one line, nothing acted on."""
    with pytest.raises(click.ClickException) as raised:
        fail(f"contact {NAME}")
    assert raised.value.message == f"contact {SHOWN}"
