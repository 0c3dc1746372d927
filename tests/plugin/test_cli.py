"""The personal-links command: every error is one line and a non-zero exit; commands use the same services."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from plugin.cli import cli
from plugin.db import db
from plugin.models import ApiKey, Contact, Link
from tests.helpers import PUBLIC_URL, SECRET_KEY


def test_import_issue_and_revoke(run, tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("id,email,firstName,segments,team\nk1,a@x.org,Ann,Staff;All,red\nk2,b@x.org,Bob,All,\n")
    result = run("contacts", "import", str(contacts))
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    assert db.session.get(Contact, 1).attributes == {"team": "red"}
    assert run("surveys", "add", "sv", "--url", "https://f.example/s/sv").exit_code == 0
    listed = run("segments", "list")
    assert "all\tAll\tstatic\t2 contacts" in listed.output
    out = tmp_path / "links.csv"
    issued = run("links", "issue", "--survey", "sv", "--segment", "all", "--expires-on", "2027-01-31", "-o", str(out))
    assert issued.exit_code == 0, issued.output
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0][0] == "Formbricks Contact ID" and len(rows) == 3
    assert run("links", "revoke", "1").exit_code == 0
    assert db.session.get(Link, 1).revoked_at is not None


def test_errors_are_one_line(run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,email\nk1,a@x.org\nk1,b@x.org\n")
    result = run("contacts", "import", str(bad))
    assert result.exit_code == 1
    assert result.output.strip() == "Error: line 3: id 'k1' already on line 2"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,firstName\nk1,J\xfcrgen\n".encode("latin-1"))
    assert "not UTF-8" in run("contacts", "import", str(latin)).output
    assert run("contacts", "import", str(tmp_path / "missing.csv")).exit_code != 0
    assert run("links", "issue", "--survey", "nope", "--contact", "k1").output.startswith("Error: survey")
    assert "give --contact or --segment" in run("links", "issue", "--survey", "x").output
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_file_import_still_checks_what_its_decoding_does_not(run, tmp_path: Path) -> None:
    """A file's text is storable once decoded (``text_checked``), but its lengths are still the importer's."""
    long_email = tmp_path / "long.csv"
    long_email.write_text(f"id,email\nk1,a@x.org\nk2,{'e' * 315}@x.org\n")  # 321 characters
    result = run("contacts", "import", str(long_email))
    assert result.exit_code == 1
    assert result.output.strip() == "Error: email: contact 'k2': longer than 320 characters"
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"id,firstName\nk1,An\x00n\n")
    assert "NUL" in run("contacts", "import", str(nul)).output
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_bad_dates_are_refused(run, tmp_path: Path) -> None:
    contacts = tmp_path / "c.csv"
    contacts.write_text("id,segments\nk1,All\n")
    run("contacts", "import", str(contacts))
    run("surveys", "add", "sv", "--url", "https://f.example/s/sv")
    result = run("links", "issue", "--survey", "sv", "--contact", "k1", "--expires-on", "2026-11-28")
    assert result.exit_code == 1 and "tomorrow" in result.output
    assert db.session.scalar(select(func.count()).select_from(Link)) == 0


def test_api_key_create_shows_the_key_once_and_stores_a_hash(run) -> None:
    result = run("api-key", "create", "ops")
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("plk_")
    row = db.session.scalar(select(ApiKey))
    assert key not in (row.key_hash, row.prefix) and row.prefix in key
    assert run("api-key", "revoke", row.prefix).exit_code == 0
    assert "revoked" in run("api-key", "list").output
    assert run("api-key", "revoke", "nope").exit_code == 1


def test_missing_secret_key_stops_with_a_message(monkeypatch) -> None:
    monkeypatch.delenv("PERSONAL_LINKS_SECRET_KEY", raising=False)
    monkeypatch.setenv("PERSONAL_LINKS_PUBLIC_URL", PUBLIC_URL)
    result = CliRunner().invoke(cli, ["segments", "list"], obj={})
    assert result.exit_code == 1
    assert "PERSONAL_LINKS_SECRET_KEY is not set" in result.output


def test_jobs_from_the_cli_are_recorded(run) -> None:
    from plugin.models import JobRun

    purged = run("purge")
    assert purged.exit_code == 0
    assert purged.output.strip() == "purge: tokens 0, links 0, deliveries 0, eventDeliveries 0, events 0"
    assert run("jobs", "run", "retry").output.strip() == "retry: applied 0, failed 0, gaveUp 0, ignored 0"
    assert run("reconcile").output.strip() == "reconcile: surveys 0, applied 0, skipped 1"
    assert run("jobs", "run", "nope").exit_code == 2
    assert [r.job for r in db.session.scalars(select(JobRun).order_by(JobRun.id))] == ["purge", "retry", "reconcile"]
    assert "purge\tcli\tsucceeded" in run("jobs", "runs").output


def _issue_setup(run, tmp_path: Path) -> None:
    contacts = tmp_path / "c.csv"
    contacts.write_text("id,segments\n" + "".join(f"k{n},All\n" for n in range(5)))
    assert run("contacts", "import", str(contacts)).exit_code == 0
    assert run("surveys", "add", "sv", "--url", "https://f.example/s/sv").exit_code == 0


def _crash_after_first_row(monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    from plugin.cli import links as links_cli

    real = links_cli.links.iter_batches

    def crashing(session, statement, batch=5000):
        batches = real(session, statement, 1)  # one row a batch: the first row is written before the crash
        yield next(batches)
        raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(links_cli.links, "iter_batches", crashing)


def test_a_crashed_issue_leaves_no_file(run, tmp_path: Path, monkeypatch) -> None:
    _issue_setup(run, tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    _crash_after_first_row(monkeypatch)
    result = run("links", "issue", "--survey", "sv", "--segment", "all", "-o", str(out_dir / "links.csv"))
    assert result.exit_code == 1 and "database error" in result.output
    assert list(out_dir.iterdir()) == []  # neither a truncated links.csv nor a temporary file


def test_a_crashed_issue_leaves_the_old_file_untouched(run, tmp_path: Path, monkeypatch) -> None:
    _issue_setup(run, tmp_path)
    out = tmp_path / "out" / "links.csv"
    out.parent.mkdir()
    assert run("links", "issue", "--survey", "sv", "--segment", "all", "-o", str(out)).exit_code == 0
    before = out.read_bytes()
    assert len(before.splitlines()) == 6
    _crash_after_first_row(monkeypatch)
    result = run("links", "issue", "--survey", "sv", "--segment", "all", "-o", str(out))
    assert result.exit_code == 1
    assert out.read_bytes() == before and list(out.parent.iterdir()) == [out]


def test_issue_to_an_unwritable_place_issues_nothing(run, tmp_path: Path) -> None:
    _issue_setup(run, tmp_path)
    result = run("links", "issue", "--survey", "sv", "--segment", "all", "-o", str(tmp_path / "nope" / "l.csv"))
    assert result.exit_code == 1 and result.output.startswith("Error: cannot write")
    assert db.session.scalar(select(func.count()).select_from(Link)) == 0


def test_db_upgrade_says_what_it_did(monkeypatch, tmp_path: Path) -> None:
    for name, value in {"DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}", "SECRET_KEY": SECRET_KEY,
                        "PUBLIC_URL": PUBLIC_URL}.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)
    first = CliRunner().invoke(cli, ["db", "upgrade"], obj={})
    assert first.exit_code == 0, first.output
    said = first.output.strip().splitlines()[-1]  # after alembic's own log lines
    assert re.fullmatch(r"created the database schema \(revision \d{4}\)", said)
    again = CliRunner().invoke(cli, ["db", "upgrade"], obj={})
    assert again.output.strip().splitlines()[-1] == f"the database schema is up to date (revision {said[-5:-1]})"


def test_issue_to_standard_output(run, tmp_path: Path) -> None:
    _issue_setup(run, tmp_path)
    result = run("links", "issue", "--survey", "sv", "--segment", "all")
    assert result.exit_code == 0
    assert result.stdout.startswith("Formbricks Contact ID,") and result.stdout.count("https://") == 5
    assert list(tmp_path.iterdir()) == [tmp_path / "c.csv"]


def test_issue_prints_the_report_and_reissue_brings_a_revoked_contact_back(run, tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("id,segments\nk1,All\nk2,All\n")
    run("contacts", "import", str(contacts))
    run("surveys", "add", "sv", "--url", "https://f.example/s/sv")
    out = str(tmp_path / "links.csv")
    first = run("links", "issue", "--survey", "sv", "--segment", "all", "--expires-on", "2027-01-31", "-o", out)
    assert "Wrote 2 links: 2 new" in first.output
    revoked = run("links", "revoke", "1")
    assert "left out of later downloads" in revoked.output and "links reissue 1" in revoked.output
    again = run("links", "issue", "--survey", "sv", "--segment", "all", "--expires-on", "2027-03-31", "-o", out)
    assert ("Wrote 1 link: 0 new, 1 kept its existing link (valid through 2027-01-31), "
            "1 left out because its link was revoked (re-issue to include)") in again.output
    renewed = run("links", "issue", "--survey", "sv", "--segment", "all", "--expires-on", "2027-03-31", "--renew",
                  "-o", out)
    assert "1 renewed to the new expiry (valid through 2027-03-31)" in renewed.output
    refused = run("links", "issue", "--survey", "sv", "--contact", "k1")
    assert refused.exit_code == 1 and "reissue=true" in refused.output
    back = run("links", "reissue", "1")
    assert back.exit_code == 0, back.output
    assert "replaces revoked link 1 for contact k1" in back.output
    assert run("links", "reissue", "1").exit_code == 1


def test_an_api_key_needs_a_name_of_at_most_255_characters_on_both_databases(run) -> None:
    for name in ("", "   "):
        empty = run("api-key", "create", name)
        assert empty.exit_code == 1 and empty.output == "Error: name: required: what the key is for (e.g. ops)\n"
    long = run("api-key", "create", "k" * 5000)  # stored on SQLite, a DataError on PostgreSQL, before
    assert long.exit_code == 1 and long.output == "Error: name: at most 255 characters (it has 5000)\n"
    assert db.session.scalar(select(func.count()).select_from(ApiKey)) == 0
    assert run("api-key", "create", "k" * 255).exit_code == 0


def test_an_attribute_name_longer_than_255_characters_is_refused(run, tmp_path: Path) -> None:
    """A column of a contacts file names an attribute; 100,000 characters were stored as a key of every contact."""
    contacts = tmp_path / "c.csv"
    contacts.write_text(f"id,{'a' * 100_000}\nk1,x\n")
    result = run("contacts", "import", str(contacts))
    assert result.exit_code == 1
    assert result.output == ("Error: line 1: column 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...': "
                             "an attribute name is at most 255 characters (it has 100000)\n")
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
    contacts.write_text(f"id,{'a' * 255}\nk1,x\n")
    assert run("contacts", "import", str(contacts)).exit_code == 0
