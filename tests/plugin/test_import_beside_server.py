"""A long CLI import on SQLite lets the server's writers in (issue 21, point 9): while ``contacts import`` or
``suppressions import`` runs in a process of its own, the webhook intake (0.5 s in the write turn's queue, then 2 s
in SQLite's busy handler) and the admin API (SQLite's busy limit) keep writing, each within its limit; the import
ends with every row.

Before, each import was one transaction holding SQLite's write lock from its first row to its last: a delivery
that came meanwhile waited its 2.5 s and was answered 503.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.db import db
from plugin.models import Contact, Link, SegmentMember, Suppression, Survey
from plugin.services.contacts.contact_batches import BATCH
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from tests.helpers import PUBLIC_URL, SECRET_KEY, seed
from tests.servers import ROOT
from tests.webhooks.support import SECRET, SURVEY_ID, response_body, signed, token_of

CLI = str(Path(sys.executable).with_name("personal-links"))
CONTACTS = 150_000  # about 3 s of writing here: one transaction of that length made the deliveries fail
SUPPRESSIONS = 3_000  # about 4 s of writing (each is audited one by one)
ADMIN_LIMIT_S = 2.0  # an admin write gets in between two batches, not after the import (SQLite's limit: 10 s)

pytestmark = pytest.mark.settings(WEBHOOK_SECRETS=SECRET)


@pytest.fixture
def sqlite_path(database_url: str) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's writers take row locks: one import transaction blocks none of them")
    return database_url.removeprefix("sqlite:///")


def _contacts_file(folder: Path) -> Path:
    path = folder / "contacts.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("id,email,segments,plan\n")
        handle.writelines(f"k{i},p{i}@example.com,{'Big;Odd' if i % 2 else 'Big'},pro\n" for i in range(CONTACTS))
    return path


def _suppressions_file(folder: Path) -> Path:
    path = folder / "bounces.csv"
    path.write_text("email,reason\n" + "".join(f"b{i}@example.com,bounce\n" for i in range(SUPPRESSIONS)))
    return path


def _start(database_url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PERSONAL_LINKS_DATABASE_URL": database_url,
           "PERSONAL_LINKS_SECRET_KEY": SECRET_KEY, "PERSONAL_LINKS_PUBLIC_URL": PUBLIC_URL,
           "PERSONAL_LINKS_SCHEDULER": "off", "PERSONAL_LINKS_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([CLI, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _write_while_it_runs(client: FlaskClient, api_headers: dict[str, str], process: subprocess.Popen[str],
                         written: Callable[[], int]) -> list[tuple[str, int, float, int]]:
    """A webhook delivery and an admin API write, again and again until the import ends: (what, status, seconds,
    how many rows the import had written before)."""
    survey = db.session.get(Survey, SURVEY_ID)
    assert survey is not None
    issue_links(db.session, survey, select(Contact.id).where(Contact.host_id == "c1"), IssueOptions(),
                survey.created_at, "test")
    db.session.commit()
    token = token_of(db.session.scalar(select(Link.id)) or 0)
    answers = []
    number = 0
    while process.poll() is None:
        number += 1
        before = written()
        body = response_body("responseCreated", f"response-{number}", token, finished=False)
        started = time.monotonic()
        answer = client.post("/webhooks/formbricks", data=body, headers=signed(body))
        answers.append(("webhook", answer.status_code, time.monotonic() - started, before))
        started = time.monotonic()
        answer = client.post("/api/personal-links/v1/suppressions", headers=api_headers,
                             json={"email": f"admin{number}@example.com", "reason": "opt-out"})
        answers.append(("admin", answer.status_code, time.monotonic() - started, before))
        db.session.remove()
        time.sleep(0.05)
    return answers


@pytest.mark.parametrize("what", ["contacts", "suppressions"])
def test_the_servers_writers_get_in_while_a_long_import_runs(what: str, client: FlaskClient,
                                                           api_headers: dict[str, str], database_url: str,
                                                           sqlite_path: str, tmp_path: Path) -> None:
    seed()
    if what == "contacts":
        file, total = _contacts_file(tmp_path), CONTACTS
        count = select(func.count()).select_from(Contact).where(Contact.host_id.like("k%"))
    else:
        file, total = _suppressions_file(tmp_path), SUPPRESSIONS
        count = select(func.count()).select_from(Suppression).where(Suppression.email.like("b%"))
    process = _start(database_url, what, "import", str(file))
    started = time.monotonic()
    answers = _write_while_it_runs(client, api_headers, process, lambda: db.session.scalar(count) or 0)
    lasted = time.monotonic() - started
    out, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    assert lasted > 2.5, f"the import took {lasted:.1f} s: too short to show anything"
    failed = [answer for answer in answers if answer[1] not in (200, 201)]
    assert not failed, f"{len(failed)} of {len(answers)} writes failed during a {lasted:.1f} s import: {failed[:5]}"
    slow = [answer for answer in answers if answer[0] == "admin" and answer[2] > ADMIN_LIMIT_S]
    assert not slow, f"admin writes waited for the import: {slow[:5]}"
    meanwhile = [answer for answer in answers if 0 < answer[3] < total]
    assert len(meanwhile) >= 10, f"{len(meanwhile)} writes came while the import was writing"
    db.session.remove()
    assert db.session.scalar(count) == total
    assert out.startswith(f"{what}: {total} added")


def _stop_while_writing(process: subprocess.Popen[str], written: Callable[[], int], at_least: int,
                        how: signal.Signals) -> int:
    """Send ``how`` to the import once it has written ``at_least`` rows; how many it had written then."""
    deadline = time.monotonic() + 60
    while (count := written()) < at_least:
        assert process.poll() is None and time.monotonic() < deadline, "the import ended before it was stopped"
        time.sleep(0.02)
    process.send_signal(how)
    process.wait(30)
    return count


def test_an_import_stopped_while_writing_is_completed_by_running_it_again(app: Flask, database_url: str,
                                                                         sqlite_path: str, tmp_path: Path) -> None:
    """Ctrl-C says how far it got; a kill says nothing; either way the same import run again completes it."""
    seed()
    file = _contacts_file(tmp_path)
    count = select(func.count()).select_from(Contact).where(Contact.host_id.like("k%"))

    def written() -> int:
        db.session.rollback()
        return db.session.scalar(count) or 0

    interrupted = _start(database_url, "contacts", "import", str(file))
    _stop_while_writing(interrupted, written, 1, signal.SIGINT)
    assert interrupted.stdout is not None and interrupted.stderr is not None
    said = interrupted.stderr.read()
    assert interrupted.returncode == 1 and said.count("\n") == 1, said
    done = written()
    assert 0 < done < CONTACTS
    # the batch whose commit the signal cut short is written, but may be left out of the count
    assert said in (f"Error: interrupted; the import stopped after writing {count:,} of {CONTACTS:,} contacts: run "
                    "the same import again to complete it\n" for count in (done, done - BATCH))
    killed = _start(database_url, "contacts", "import", str(file))
    _stop_while_writing(killed, written, done + BATCH, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL and done < written() < CONTACTS
    again = _start(database_url, "contacts", "import", str(file))
    out, errors = again.communicate(timeout=120)
    assert again.returncode == 0, errors
    assert written() == CONTACTS
    members = select(func.count()).select_from(SegmentMember).where(SegmentMember.segment_id == "big")
    odd = select(func.count()).select_from(SegmentMember).where(SegmentMember.segment_id == "odd")
    assert (db.session.scalar(members), db.session.scalar(odd)) == (CONTACTS, CONTACTS // 2)
    added = int(out.split()[1])
    assert out == (f"contacts: {added} added, 0 changed, {CONTACTS - added} unchanged, 0 removed; 2 segments\n")
