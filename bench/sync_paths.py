"""Benchmark of a sync from Formbricks: ``personal-links sync`` as a whole process against the fake host.

The fake Formbricks (tests/fakes) serves ``count`` contacts with five attributes each over real local HTTP
from a thread of this process; one link survey carries a segment of 1% of them (resolved by the host's
contact-links pages). The sync process's wall time, CPU time and peak RSS (``wait4`` of that very child, from
a small launcher process) are measured; the fake host serialises its two whole listings before the clock starts
(as it would answer any later request for an unchanged state), so that what it does while timed is to send them.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.bulk_paths import CLI, LAUNCHER, sidecar_env
from bench.load import PYTHON, ROOT
from tests.fakes.formbricks_server import create_fake_formbricks, warm_listings
from tests.fakes.formbricks_state import FakeFormbricksState
from tests.servers import serve_in_thread


@dataclass(frozen=True)
class SyncRun:
    """One sync process: wall and CPU seconds, peak resident memory, contacts stored."""

    count: int
    seconds: float
    cpu_seconds: float
    peak_mib: float


def fake_host(count: int) -> FakeFormbricksState:
    """A workspace of ``count`` contacts (userId, email, names, plan) and a link survey on a segment of 1%."""
    state = FakeFormbricksState()
    for i in range(count):
        state.add_contact(f"ct_{i:07d}", userId=f"u{i}", email=f"p{i}@example.com", firstName="First",
                          lastName="Last", plan="pro" if i % 3 else "free")
    members = [f"ct_{i:07d}" for i in range(0, count, 100)]  # few pages: the host allows 100 requests a minute
    state.add_segment("sg_bench", title="Bench segment", members=members)
    state.add_survey("sv_bench", name="Bench", hidden_fields=["plink"], segment_id="sg_bench")
    return state


def sync_from_formbricks(folder: Path, count: int) -> SyncRun:
    """``personal-links sync`` with CONTACT_SOURCE=formbricks of ``count`` contacts into an empty database."""
    state = fake_host(count)
    app = create_fake_formbricks(state, version="5", rate_limit=1_000_000)
    warm_listings(app, state)
    database = folder / f"sync-{count}.sqlite3"
    with serve_in_thread(app) as url:
        env = {**sidecar_env(database), "PERSONAL_LINKS_CONTACT_SOURCE": "formbricks",
               "PERSONAL_LINKS_SURVEY_HOST": "formbricks", "PERSONAL_LINKS_FORMBRICKS_URL": url,
               "PERSONAL_LINKS_FORMBRICKS_API_KEY": state.api_key,
               "PERSONAL_LINKS_FORMBRICKS_WORKSPACE_ID": state.workspace_id,
               "PERSONAL_LINKS_FORMBRICKS_TIMEOUT": "300"}
        full = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        subprocess.run([CLI, "db", "upgrade"], cwd=ROOT, env=full, check=True, capture_output=True)
        start = time.perf_counter()
        process = subprocess.Popen([PYTHON, "-c", LAUNCHER, CLI, "sync"], cwd=ROOT, env=full,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, errors = process.communicate()
        seconds = time.perf_counter() - start
        status = process.returncode
    if status != 0:
        raise RuntimeError(f"sync failed: {errors.decode()[-2000:]}")
    cpu, peak = (float(part) for part in out.decode().split()[-2:])
    connection = sqlite3.connect(database)
    stored = connection.execute("SELECT count(*) FROM contacts").fetchone()[0]
    members = connection.execute("SELECT count(*) FROM segment_members WHERE segment_id = 'sg_bench'").fetchone()[0]
    connection.close()
    assert stored == count, f"{stored} contacts stored, not {count}"
    assert members == len(range(0, count, 100)), f"{members} segment members"
    database.unlink()
    return SyncRun(count, seconds, cpu, peak)


def sync_all(count: int) -> SyncRun:
    """The sync benchmark in a folder of its own."""
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as name:
        return sync_from_formbricks(Path(name), count)
