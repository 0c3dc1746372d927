"""docs/deployment.md's "Running it for real" runs as written in a fresh copy of the checkout, after the demo ran
there, and nothing of the demo (its printed admin key) is valid in the real instance."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests

from tests.helpers import postgres_schema
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
KEY = re.compile(r"\b(plk_[A-Za-z0-9_-]+)")

pytestmark = pytest.mark.servers


def doc_block(page: str, title: str, heading: str = "##") -> str:
    """The first ``sh`` block of the section ``title`` of ``page`` (a path from the checkout's root; a subsection
    with ``heading="###"``)."""
    text = (ROOT / page).read_text()
    section = text.split(f"\n{heading} {title}\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def fresh_clone(folder: Path) -> Path:
    """The checkout's files (as git sees them, untracked but not ignored ones too), no instance folder; the
    already installed .venv linked in (``make install`` then has nothing to do)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    clone = folder / "clone"
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)  # keeps mtimes: make compares them
    (clone / ".venv").symlink_to(VENV)
    if subprocess.run(["make", "-q", "install"], cwd=clone, capture_output=True).returncode != 0:
        pytest.skip("the .venv is older than pyproject.toml: run make install first")
    return clone


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a new shell: no PERSONAL_LINKS_* settings, no virtual environment on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERSONAL_LINKS_") and k != "VIRTUAL_ENV"}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and str(VENV) not in p)
    return {**env, **extra}


@contextmanager
def started(command: list[str], cwd: Path, env: dict[str, str], log: Path, url: str) -> Iterator[subprocess.Popen]:
    """A server process group, until ``url/healthz`` answers; stopped (the whole group) however it ends."""
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{command[0]} did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_demo_then_running_it_for_real_as_written(tmp_path: Path, backend: str) -> None:
    clone = fresh_clone(tmp_path)
    port = free_port()
    demo_url = f"http://127.0.0.1:{port}"
    demo_log = tmp_path / "demo.log"
    with started([str(clone / ".venv/bin/personal-links"), "--demo", "serve", "--port", str(port)], clone,
                 clean_env(), demo_log, demo_url):
        demo_key = KEY.search(demo_log.read_text()).group(1)  # type: ignore[union-attr]
        demo_surveys = requests.get(f"{demo_url}/api/personal-links/v1/surveys", headers={"x-api-key": demo_key},
                                    timeout=10)
        assert demo_surveys.status_code == 200 and demo_surveys.json()["data"][0]["id"] == "demo-survey"
    assert (clone / "instance" / "demo" / "secret_key").is_file()

    script = tmp_path / "for-real.sh"
    script.write_text("set -eu\n" + doc_block("docs/deployment.md", "Running it for real"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        extra = {"PORT": str(port)}
        if backend == "postgres":
            extra["PERSONAL_LINKS_DATABASE_URL"] = stack.enter_context(postgres_schema("pl_readme"))
        log = tmp_path / "for-real.log"
        stack.enter_context(started(["bash", str(script)], clone, clean_env(**extra), log, url))
        output = log.read_text()
        assert "created the database schema (revision " in output, output
        assert "2 added" in output, output
        real_key = KEY.search(output).group(1)  # type: ignore[union-attr]
        assert real_key != demo_key
        refused = requests.get(f"{url}/api/personal-links/v1/surveys", headers={"x-api-key": demo_key}, timeout=10)
        assert refused.status_code == 401
        surveys = requests.get(f"{url}/api/personal-links/v1/surveys", headers={"x-api-key": real_key}, timeout=10)
        assert [survey["id"] for survey in surveys.json()["data"]] == ["my-survey"]
        segments = requests.get(f"{url}/api/personal-links/v1/segments", headers={"x-api-key": real_key}, timeout=10)
        assert {segment["id"] for segment in segments.json()["data"]} == {"customers", "newsletter"}
    if backend == "sqlite":
        assert (clone / "instance" / "personal-links.sqlite3").is_file()
