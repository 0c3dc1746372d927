"""docs/follow-up.md's "Following up on the demo" runs as written against the demo server: an invitation
recorded, a reminder batch due after 0 hours, the contact gone from the non-respondents once the demo survey's form
answered, and the listener printing the verified response.completed the sidecar sent it."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.plugin.test_deployment_as_written import KEY, clean_env, doc_block, fresh_clone, started
from tests.servers import free_port

pytestmark = pytest.mark.servers

LISTENER_PORT = "8025"  # the block's receiver port; the test puts a free one in its place (the only change)


def test_following_up_as_written(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "demo.log"
    # `make run` is `.venv/bin/personal-links --demo serve` on port 5000; here on a free port, which $B names,
    # as the tour's `B=...` line does
    with started([str(clone / ".venv/bin/personal-links"), "--demo", "serve", "--port", str(port)], clone,
                 clean_env(), log, base):
        key = KEY.search(log.read_text()).group(1)  # type: ignore[union-attr]
        block = doc_block("docs/follow-up.md", "Following up on the demo")
        assert block.count(LISTENER_PORT) == 3  # the subscription's URL, the listener, the wait for it
        script = tmp_path / "follow-up.sh"
        script.write_text(block.replace(LISTENER_PORT, str(free_port())))
        process = subprocess.Popen(["bash", "-euo", "pipefail", str(script)], cwd=clone,
                                   env=clean_env(KEY=key, B=base), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, start_new_session=True)
        try:
            out, err = process.communicate(timeout=120)
        finally:
            if process.poll() is None:  # the listener never got its event: stop it and the script
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        assert process.returncode == 0, out + err
        lines = out.splitlines()
        assert "['c-ada']" in lines, out  # a non-respondent before answering
        assert lines[lines.index("['c-ada']") + 2] == "[]", out  # none after
        assert any(line.endswith(" attributed") for line in lines), out
        verified = [line for line in lines if line.startswith("verified ")]
        assert len(verified) == 1 and verified[0].startswith("verified response.completed evt_"), out
        assert verified[0].endswith(" survey=demo-survey contact=c-ada"), out
        left = requests.get(f"{base}/api/personal-links/v1/surveys/demo-survey/non-respondents",
                            headers={"x-api-key": key}, timeout=10).json()["data"]
        assert [row["contactId"] for row in left] == []
        deliveries = requests.get(f"{base}/api/personal-links/v1/events/deliveries", headers={"x-api-key": key},
                                  timeout=10).json()["data"]
        assert [(row["type"], row["status"], row["lastStatusCode"]) for row in deliveries] == [
            ("response.completed", "delivered", 204)]
