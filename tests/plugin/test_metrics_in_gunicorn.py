"""GET /metrics from a real gunicorn with two workers: the scrape adds up what both workers counted, and so
does ``personal-links metrics-server`` on its separate address."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from plugin import create_app
from plugin.db import db
from plugin.services.admin.api_keys import create_key
from tests.helpers import NOW, PUBLIC_URL, SECRET_KEY, base_config, seed
from tests.metrics_support import parse, total
from tests.servers import ROOT, free_port, fresh_database, gunicorn

pytestmark = pytest.mark.servers
TOKEN = "scrape-token-0123456789abcdef"
OPENS = "personal_links_link_opens_total"


def _seed(url: str) -> str:
    app = create_app(base_config(url))
    with app.app_context():
        seed()
        _, key = create_key(db.session, "ops", NOW)
        db.session.commit()
        db.engine.dispose()
    return key


def _opens_by_process(folder: Path) -> Counter[str]:
    """Live opens each worker wrote to its own file (counter_<pid>.db)."""
    found: Counter[str] = Counter()
    for path in folder.glob("counter_*.db"):
        for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            name, _, labels, _ = json.loads(key)
            if name == "personal_links_link_opens" and labels.get("state") == "live":
                found[path.stem] += int(value)
    return found


def _stale_file(folder: Path) -> None:
    """What a run before this one left behind: the hooks must empty the folder before the workers start."""
    folder.mkdir(parents=True)
    stale = MmapedDict(str(folder / "counter_1.db"))
    stale.write_value(mmap_key("personal_links_link_opens", OPENS, ["state"], ["live"], "old"), 1000.0, 0.0)
    stale.close()


@contextmanager
def metrics_server(database_url: str, folder: Path) -> Iterator[str]:
    """``personal-links metrics-server`` on a free port, reading ``folder``; yields its base URL."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PERSONAL_LINKS_")}, "PYTHONPATH": str(ROOT),
           "PERSONAL_LINKS_DATABASE_URL": database_url, "PERSONAL_LINKS_SECRET_KEY": SECRET_KEY,
           "PERSONAL_LINKS_PUBLIC_URL": PUBLIC_URL, "PERSONAL_LINKS_METRICS": "on",
           "PERSONAL_LINKS_METRICS_DIR": str(folder), "PERSONAL_LINKS_INSTANCE_PATH": str(folder.parent / "i2")}
    process = subprocess.Popen([sys.executable, "-c", "from plugin.cli import main; main()", "metrics-server",
                                "--port", str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(base + "/", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("personal-links metrics-server did not start")
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_workers_add_up_in_one_scrape(backend: str, tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    _stale_file(folder)
    settings = {"METRICS": "on", "METRICS_TOKEN": TOKEN, "METRICS_DIR": str(folder), "SCHEDULER": "off"}
    with fresh_database(backend, tmp_path) as url:
        key = _seed(url)
        with gunicorn(url, tmp_path, workers=2, settings=settings,
                      options=("-c", "python:plugin.gunicorn_conf")) as base:
            exported = requests.get(f"{base}/api/personal-links/v1/surveys/survey-1/segments/alpha/links.csv",
                                    headers={"x-api-key": key}, timeout=10)
            assert exported.status_code == 200
            paths = [row[5].replace("https://links.example.com", base)
                     for row in list(csv.reader(io.StringIO(exported.text)))[1:]]
            assert len(paths) == 3
            sent = 0
            with ThreadPoolExecutor(max_workers=6) as pool:
                for _ in range(20):  # until both workers have answered opens; each open is a new connection
                    batch = [paths[i % 3] for i in range(12)]
                    answers = list(pool.map(lambda link: requests.get(link, allow_redirects=False, timeout=10),
                                            batch))
                    assert {answer.status_code for answer in answers} == {302}
                    sent += len(batch)
                    if len(_opens_by_process(folder)) >= 2:
                        break
            per_process = _opens_by_process(folder)
            assert len(per_process) == 2 and min(per_process.values()) > 0, per_process
            assert requests.get(f"{base}/metrics", timeout=10).status_code == 401
            scraped = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
            with metrics_server(url, folder) as separate:
                separately = requests.get(f"{separate}/metrics", timeout=10).text
                assert requests.get(f"{separate}/", timeout=10).status_code == 404
    assert scraped.status_code == 200
    samples = parse(scraped.text)
    assert total(samples, OPENS, state="live") == sent == sum(per_process.values())  # the stale 1000 is gone
    assert total(samples, "personal_links_links_issued_total", via="api-key") == 3
    assert total(samples, "personal_links_http_requests_total", route="/c/<token>", status="302") == sent
    assert total(samples, "personal_links_http_request_seconds_count", route="/c/<token>") == sent
    assert total(samples, "personal_links_http_requests_total", route="/metrics", status="401") == 1
    assert total(parse(separately), OPENS, state="live") == sent  # the separate address adds up the same files
    assert "links.example.com" not in scraped.text and "/c/" + paths[0].rsplit("/", 1)[1] not in scraped.text
