"""The whole tour with DEBUG logging in JSON: no token, API key, webhook secret or e-mail address in any line.

Real processes: ``personal-links --demo serve`` for the README's tour (plus a signed webhook, the admin
pages and a scrape), and the CLI's sync and reconcile against the fake Formbricks for the host's API key.
Logs go to stderr; stdout is the command's own output (the demo prints its key there once, by design).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.pages.support import csrf_of
from tests.servers import ROOT, demo_key_when_up, free_port
from tests.webhooks.support import SECRET, response_body, signed

pytestmark = pytest.mark.servers
METRICS_TOKEN = "metrics-token-for-the-tour-0123"
DEMO_EMAILS = [row["email"] for row in csv.DictReader((ROOT / "plugin" / "demo" / "contacts.csv").open())]
LOGS = {"PERSONAL_LINKS_LOG_LEVEL": "DEBUG", "PERSONAL_LINKS_LOG_FORMAT": "json"}


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PERSONAL_LINKS_", "PROMETHEUS"))}
    return {**env, "PYTHONPATH": str(ROOT), "PERSONAL_LINKS_INSTANCE_PATH": str(tmp_path / "instance"), **LOGS,
            **settings}


@pytest.fixture
def tour_server(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """The demo server with DEBUG JSON logs to a file; yields (url, admin key, log file)."""
    port = free_port()
    log_path = tmp_path / "stderr.log"
    env = _env(tmp_path, PERSONAL_LINKS_WEBHOOK_SECRETS=SECRET, PERSONAL_LINKS_METRICS="on",
               PERSONAL_LINKS_METRICS_TOKEN=METRICS_TOKEN)
    command = [sys.executable, "-c", "from plugin.cli import main; main()", "--demo", "serve", "--port", str(port)]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
        try:
            url = f"http://127.0.0.1:{port}"
            key, printed = demo_key_when_up(process, url)
            assert key, printed + log_path.read_text()
            yield url, key, log_path
        finally:
            process.terminate()
            process.wait(timeout=10)


def _tour(url: str, key: str) -> list[str]:
    """The README's tour, a signed and a forged webhook, the admin pages and a scrape; returns the tokens."""
    api = {"x-api-key": key}
    v1 = f"{url}/api/personal-links/v1"
    assert requests.get(f"{v1}/segments", headers=api, timeout=5).ok
    one = requests.get(f"{url}/api/v2/management/surveys/demo-survey/contact-links/contacts/c-ada?expiresOn=2027-12-31",
                       headers={**api, "X-Request-ID": "tour-contact-link"}, timeout=5)
    assert one.ok and one.headers["X-Request-ID"] == "tour-contact-link"
    exported = requests.get(f"{v1}/surveys/demo-survey/segments/customers/links.csv", headers=api, timeout=5)
    links = [row[5] for row in list(csv.reader(io.StringIO(exported.text)))[1:]]
    tokens = [link.rsplit("/", 1)[1] for link in links]
    assert requests.get(links[-1], allow_redirects=False, timeout=5).status_code == 302
    assert requests.get(f"{url}/c/{tokens[0]}x", timeout=5).status_code == 404  # a tampered one
    assert requests.get(f"{v1}/surveys/demo-survey/links?state=live", headers=api, timeout=5).ok
    assert requests.post(f"{v1}/links/1/revoke", headers=api, timeout=5).ok
    for path in ("funnel", "funnel/daily", "non-respondents", "non-respondents.csv"):
        assert requests.get(f"{v1}/surveys/demo-survey/{path}", headers=api, timeout=5).ok, path
    assert requests.get(f"{v1}/surveys", headers={"x-api-key": key + "x"}, timeout=5).status_code == 401
    body = response_body("responseFinished", "resp-tour-1", tokens[-1], finished=True, survey_id="demo-survey")
    delivered = requests.post(f"{url}/webhooks/formbricks", data=body, timeout=5,
                              headers=signed(body, at=datetime.now(UTC)))
    assert delivered.json()["outcome"] == "attributed", delivered.text
    forged = signed(body, at=datetime.now(UTC), secret="whsec_" + base64.b64encode(b"x" * 32).decode())
    assert requests.post(f"{url}/webhooks/formbricks", data=body, headers=forged, timeout=5).status_code == 401
    admin = requests.Session()
    csrf = csrf_of(admin.get(f"{url}/admin/sign-in", timeout=5).text)
    assert admin.post(f"{url}/admin/sign-in", data={"api_key": key, "csrf_token": csrf}, timeout=5).ok
    assert "Funnel" in admin.get(f"{url}/admin/surveys/demo-survey", timeout=5).text
    assert requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5).ok
    assert requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {SECRET}"}, timeout=5).status_code == 401
    return tokens


def _lines(log_path: Path) -> list[dict]:
    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is one JSON object
    assert lines, "no log lines at all"
    for line in lines:
        assert {"time", "level", "logger", "message", "requestId"} <= set(line), line
    return lines


def _assert_absent(text: str, secrets: dict[str, str]) -> None:
    for what, secret in secrets.items():
        assert secret and secret not in text, f"{what} found in the logs"


def test_the_tour_logs_no_secret_at_debug(tour_server: tuple[str, str, Path], tmp_path: Path) -> None:
    url, key, log_path = tour_server
    tokens = _tour(url, key)
    time.sleep(0.3)  # the last lines reach the file
    lines = _lines(log_path)
    text = log_path.read_text()
    debug = {line["message"] for line in lines if line["level"] == "DEBUG"}
    assert {"link opened: live", "link opened: invalid"} <= debug  # DEBUG lines were written
    requests_done = [line for line in lines if line["logger"] == "plugin.access"]
    assert len(requests_done) >= 20
    tagged = [line for line in requests_done if line["requestId"] == "tour-contact-link"]
    assert len(tagged) == 1 and tagged[0]["status"] == 200 and tagged[0]["method"] == "GET"
    assert tagged[0]["route"] == "/api/v2/management/surveys/<survey_id>/contact-links/contacts/<contact_id>"
    assert isinstance(tagged[0]["durationMs"], float)
    assert any(line["route"] == "/c/<token>" and line["status"] == 302 for line in requests_done)
    assert any("rejected" in line["message"] for line in lines if line["logger"] == "webhooks.receiver")
    secret_key = (tmp_path / "instance" / "demo" / "secret_key").read_text().strip()  # the demo has its own folder
    secrets = {"admin API key": key, "webhook secret": SECRET, "webhook secret's key": SECRET[len("whsec_"):],
               "metrics token": METRICS_TOKEN, "signing key": secret_key,
               **{f"token {n}": token for n, token in enumerate(tokens)},
               **{f"e-mail {n}": email for n, email in enumerate(DEMO_EMAILS)}}
    _assert_absent(text, secrets)
    assert "@" not in text  # no e-mail address at all, not only the demo's


def _cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from plugin.cli import main; main()", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_sync_and_reconcile_against_the_host_log_no_key_or_address(fake_host_v5, tmp_path: Path) -> None:
    settings = {f"PERSONAL_LINKS_{name}": value for name, value in fake_host_v5.settings().items()}
    env = _env(tmp_path, PERSONAL_LINKS_SECRET_KEY="tour-secret-key-0123456789",
               PERSONAL_LINKS_PUBLIC_URL="https://links.example.com",
               PERSONAL_LINKS_DATABASE_URL=f"sqlite:///{tmp_path / 'tour.sqlite3'}", **settings)
    logged: list[dict] = []
    for args in (("db", "upgrade"), ("sync",), ("links", "issue", "--survey", "sv_1", "--segment", "sg_pro",
                                                  "-o", str(tmp_path / "links.csv")), ("jobs", "run", "reconcile")):
        done = _cli(tmp_path, env, *args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        # stderr holds the log lines and the commands' progress bars (lines that are not JSON objects)
        lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
        assert all({"time", "level", "logger", "message", "requestId"} <= set(line) for line in lines)
        logged.extend(lines)
        tokens = [row[5].rsplit("/", 1)[1] for row in list(csv.reader((tmp_path / "links.csv").open()))[1:]] \
            if (tmp_path / "links.csv").exists() else []
        _assert_absent(done.stderr, {"host API key": fake_host_v5.state.api_key,
                                     **{f"token {n}": token for n, token in enumerate(tokens)}})
        assert "@" not in done.stderr, done.stderr
    assert any(line["logger"] == "plugin.services.host.sync" for line in logged)
    assert any(line["logger"] == "plugin.jobs.runner" and line["requestId"].startswith("job-reconcile-")
               for line in logged)  # a job run's lines carry the run's id
