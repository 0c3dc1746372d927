"""Benchmarks of the bulk paths, each a whole CLI process (wall time and peak memory) on SQLite.

Issue + export of a segment against ``bench/plain_issue.py`` on an identical database; the non-respondents'
first JSON page, and their CSV against a plain ``sqlite3`` query with ``csv.writer`` writing the same cells (each
row's personal link signed as plainly as ``plain_issue.py`` does); a contacts import from a file.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask_migrate import upgrade

from bench.http_paths import SECRET_KEY
from bench.load import PYTHON, ROOT
from bench.plain_issue import base62
from plugin import create_app
from plugin.db import db

SURVEY = "bench-survey"
CLI = str(Path(PYTHON).with_name("personal-links"))


@dataclass(frozen=True)
class Run:
    """One process: wall seconds and peak resident memory."""

    seconds: float
    peak_mib: float


# Runs the command and prints its CPU seconds and peak RSS (MiB). A child's ru_maxrss counts the memory of the
# process it was forked from (the kernel records the old address space's high-water mark at exec), and a
# benchmark's process is large: started from this small launcher instead, the figure is the command's own.
LAUNCHER = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run(command: list[str], env: dict[str, str]) -> Run:
    """Run a command to its end, through the launcher; its wall time and its own peak RSS."""
    start = time.perf_counter()
    process = subprocess.Popen([PYTHON, "-c", LAUNCHER, *command], cwd=ROOT,
                               env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, errors = process.communicate()  # read while it runs: a full pipe would stall the child
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed: {errors.decode()[-2000:]}")
    return Run(seconds, float(out.split()[-1]))


def sidecar_env(path: Path) -> dict[str, str]:
    return {"PERSONAL_LINKS_SECRET_KEY": SECRET_KEY, "PERSONAL_LINKS_PUBLIC_URL": "https://links.example.com",
            "PERSONAL_LINKS_DATABASE_URL": f"sqlite:///{path}", "PERSONAL_LINKS_SCHEDULER": "off",
            "PERSONAL_LINKS_LOG_LEVEL": "WARNING"}


def template(folder: Path, count: int) -> Path:
    """A migrated SQLite file with ``count`` contacts in segment ``all`` and a link survey."""
    path = folder / f"template-{count}.sqlite3"
    app = create_app({"SECRET_KEY": SECRET_KEY, "PUBLIC_URL": "https://l.example.com",
                      "DATABASE_URL": f"sqlite:///{path}", "SCHEDULER": "off"})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    connection = sqlite3.connect(path)
    connection.executemany(
        "INSERT INTO contacts (id, host_id, custom_id, email, first_name, last_name, attributes, source,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, 'First', 'Last', '{\"plan\": \"pro\"}', 'bench', ?, ?)",
        ((i, f"contact-{i:07d}", f"user-{i}", f"person{i}@example.com", now, now) for i in range(1, count + 1)))
    connection.execute("INSERT INTO segments (id, title, is_private, kind, created_at, updated_at)"
                       " VALUES ('all', 'All', 0, 'static', ?, ?)", (now, now))
    connection.execute("INSERT INTO segment_members (segment_id, contact_id) SELECT 'all', id FROM contacts")
    connection.execute("INSERT INTO surveys (id, name, public_url, type, status, hidden_field_ids, single_use,"
                       " source, created_at, updated_at) VALUES (?, 'Bench', 'https://forms.example.com/s/b',"
                       " 'link', 'inProgress', '[\"plink\"]', 0, 'manual', ?, ?)", (SURVEY, now, now))
    connection.commit()
    connection.close()
    return path


@dataclass(frozen=True)
class Compared:
    """Ours and the baseline on the same input."""

    name: str
    count: int
    ours: Run
    baseline: Run | None


ISSUE_ROUNDS = 3  # ours and the plain loop take turns; the fastest of each counts, the highest peak of each


def _fastest(runs: list[Run]) -> Run:
    return Run(min(run.seconds for run in runs), max(run.peak_mib for run in runs))


def issue_export(folder: Path, source: Path, count: int) -> tuple[Compared, Path]:
    """``personal-links links issue --segment all -o FILE`` against the plain loop, each on a fresh copy, the
    two taking turns ``ISSUE_ROUNDS`` times (a slower spell of the machine falls on both sides alike)."""
    ours_db, plain_db = folder / f"ours-{count}.sqlite3", folder / f"plain-{count}.sqlite3"
    out = folder / "links.csv"
    ours, baseline = [], []
    for _ in range(ISSUE_ROUNDS):
        shutil.copy(source, ours_db)
        shutil.copy(source, plain_db)
        ours.append(run([CLI, "links", "issue", "--survey", SURVEY, "--segment", "all", "-o", str(out)],
                        sidecar_env(ours_db)))
        with open(out, newline="", encoding="utf-8") as handle:
            written = sum(1 for _ in csv.reader(handle)) - 1
        assert written == count, f"the CSV holds {written} links, not {count}"
        baseline.append(run([PYTHON, str(ROOT / "bench" / "plain_issue.py"), str(plain_db), SURVEY, str(out)], {}))
        plain_db.unlink()
    return Compared(f"issue + export, {count:,} links", count, _fastest(ours), _fastest(baseline)), ours_db


def non_respondents(issued_db: Path, count: int) -> tuple[float, Compared]:
    """The first JSON page (seconds, warm, best of 5) and the whole CSV against a plain query writing the same
    cells (the personal link signed per row as ``bench/plain_issue.py`` does; no formula neutralising)."""
    app = create_app({**{k.removeprefix("PERSONAL_LINKS_"): v for k, v in sidecar_env(issued_db).items()},
                      "TESTING": True})
    with app.app_context():
        from plugin.services.admin.api_keys import create_key

        _, key = create_key(db.session, "bench", datetime.now(UTC))
        db.session.commit()
        client = app.test_client()
        base = f"/api/personal-links/v1/surveys/{SURVEY}/non-respondents"
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            answer = client.get(f"{base}?limit=50", headers={"x-api-key": key})
            timings.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.data[:300]
        start = time.perf_counter()
        rows = sum(chunk.count(b"\n") for chunk in client.get(f"{base}.csv", headers={"x-api-key": key}).response)
        ours = time.perf_counter() - start
        assert rows - 1 == count, f"{rows - 1} CSV rows, not {count}"
        db.engine.dispose()
    start = time.perf_counter()
    connection = sqlite3.connect(issued_db)
    key = hashlib.sha256(b"plain-baseline-key").digest()
    with open(os.devnull, "w", newline="") as sink:
        writer = csv.writer(sink)
        for host_id, custom_id, first, last, email, link_id, opened, started, expires in connection.execute(
                "SELECT c.host_id, c.custom_id, c.first_name, c.last_name, c.email, l.id, l.last_opened_at,"
                " l.started_at, l.expires_at FROM links l JOIN contacts c ON c.id = l.contact_id"
                " WHERE l.survey_id = ? AND l.is_current AND l.revoked_at IS NULL AND l.use_count < l.max_uses"
                " ORDER BY c.id", (SURVEY,)):
            # the same cells as ours: the personal link, signed as plainly as bench/plain_issue.py signs it
            encoded = base62(link_id)
            mac = hmac.digest(key, f"{SURVEY}\x00{encoded}".encode(), "sha256")
            token = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
            writer.writerow((host_id, custom_id, first, last, email, f"https://l.example.com/c/{encoded}.{token}",
                             "live", opened, started, expires))
    plain = time.perf_counter() - start
    connection.close()
    return min(timings), Compared(f"non-respondents CSV, {count:,} rows", count, Run(ours, 0), Run(plain, 0))


def contacts_import(folder: Path, count: int) -> Compared:
    """``personal-links contacts import FILE`` of ``count`` contacts in two segments, into an empty database."""
    path = folder / f"contacts-{count}.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "userId", "email", "firstName", "lastName", "segments", "plan"])
        for i in range(count):
            writer.writerow([f"c{i}", f"u{i}", f"p{i}@example.com", "First", "Last",
                             "Customers;Beta" if i % 2 else "Customers", "pro" if i % 3 else "free"])
    database = folder / f"import-{count}.sqlite3"
    env = sidecar_env(database)
    run([CLI, "db", "upgrade"], env)
    ours = run([CLI, "contacts", "import", str(path)], env)
    stored = sqlite3.connect(database).execute("SELECT count(*) FROM contacts").fetchone()[0]
    assert stored == count, f"{stored} contacts stored, not {count}"
    path.unlink()
    database.unlink()
    return Compared(f"contacts import, {count:,} contacts", count, ours, None)


def all_bulk(sizes: tuple[int, ...] = (100_000, 1_000_000)) -> tuple[list[Compared], float | None]:
    """Every bulk benchmark; the non-respondents' first page at the largest size."""
    results: list[Compared] = []
    first_page = None
    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        folder = Path(name)
        for count in sizes:
            source = template(folder, count)
            compared, issued = issue_export(folder, source, count)
            results.append(compared)
            if count == max(sizes):
                first_page, csv_compared = non_respondents(issued, count)
                results.append(csv_compared)
            issued.unlink()
            source.unlink()
        results.append(contacts_import(folder, max(sizes)))
    return results, first_page
