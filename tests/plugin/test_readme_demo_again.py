"""`make run` a second time (the demo started again on its instance folder) cannot show the admin key again, as
the README says (only its hash is kept): it says where the key went and how to make another, and that works."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import requests

from tests.plugin.test_deployment_as_written import KEY, VENV, clean_env, started
from tests.servers import free_port

pytestmark = pytest.mark.servers


def test_a_second_demo_start_says_where_the_key_went_and_how_to_make_one(tmp_path: Path) -> None:
    env = clean_env()
    command = [str(VENV / "bin" / "personal-links"), "--demo", "serve", "--port", str(free_port())]
    url = f"http://127.0.0.1:{command[-1]}"
    with started(command, tmp_path, env, tmp_path / "first.log", url):
        first = (tmp_path / "first.log").read_text()
    key = KEY.search(first).group(1)  # type: ignore[union-attr]
    assert "Admin API key (shown once, keep it)" in first

    with started(command, tmp_path, env, tmp_path / "second.log", url):
        second = (tmp_path / "second.log").read_text()
        assert KEY.search(second) is None, second  # not shown again: only its hash is kept
        assert "shown once, at this demo's first start" in second, second
        assert f"only its hash is kept, in {tmp_path / 'instance' / 'demo'}" in second, second
        prefix = key.removeprefix("plk_").split("_", 1)[0]
        assert f"api-key revoke {prefix}" in second, second  # the lost one, by the prefix api-key list shows
        create = re.search(r"Lost it\? Make another \(shown once too\): (.+)", second)
        assert create, second
        made = subprocess.run(shlex.split(create.group(1)), cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=60, check=True).stdout
        new_key = KEY.search(made).group(1)  # type: ignore[union-attr]
        surveys = requests.get(f"{url}/api/personal-links/v1/surveys", headers={"x-api-key": new_key}, timeout=10)
        assert surveys.status_code == 200 and surveys.json()["data"][0]["id"] == "demo-survey"
