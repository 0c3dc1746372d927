"""One journey through a real server process: demo start on SQLite, admin key, issue, open, CSV."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.servers import demo_key_when_up, free_port


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``personal-links --demo serve`` in its own process, on a fresh instance folder; yields (url, key)."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PERSONAL_LINKS_")}
    env["PERSONAL_LINKS_INSTANCE_PATH"] = str(tmp_path / "instance")
    command = [sys.executable, "-c", "from plugin.cli import main; main()", "--demo", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               cwd=Path(__file__).resolve().parents[2])
    url = f"http://127.0.0.1:{port}"
    try:
        key, printed = demo_key_when_up(process, url)
        assert key, printed
        yield url, key
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_demo_journey(demo_server: tuple[str, str], tmp_path: Path) -> None:
    url, key = demo_server
    assert (tmp_path / "instance" / "demo" / "secret_key").stat().st_mode & 0o777 == 0o600
    headers = {"x-api-key": key}
    assert requests.get(url + "/readyz", timeout=5).json() == {"status": "ok", "database": "ok"}
    page = requests.get(f"{url}/api/v2/management/surveys/demo-survey/contact-links/segments/beta-testers",
                        headers=headers, timeout=5)
    assert page.status_code == 200, page.text
    links = [item["surveyUrl"] for item in page.json()["data"]]
    assert len(links) == page.json()["meta"]["total"] == 4
    assert all(link.startswith(url + "/c/") and len(link) < 100 for link in links)
    opened = requests.get(links[0], allow_redirects=False, timeout=5)
    assert opened.status_code == 302 and opened.headers["Referrer-Policy"] == "no-referrer"
    survey_page = requests.get(opened.headers["Location"], timeout=5)
    assert links[0].rsplit("/", 1)[1] in survey_page.text
    csv_text = requests.get(f"{url}/api/personal-links/v1/surveys/demo-survey/segments/beta-testers/links.csv",
                            headers=headers, timeout=5).text
    assert csv_text.splitlines()[0] == "Formbricks Contact ID,Custom ID,First Name,Last Name,Email,Personal Link"
    assert sorted(line.rsplit(",", 1)[1] for line in csv_text.splitlines()[1:]) == sorted(links)
    assert requests.get(url + "/c/forged.token", timeout=5).status_code == 404
