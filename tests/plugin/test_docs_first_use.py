"""docs/formbricks.md's Community Edition list runs as written, in its order, against a fake Formbricks without
the Contacts licence (its example URLs and key replaced by the fake's)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.fakes.formbricks_server import create_fake_formbricks, run_fake_formbricks
from tests.fakes.formbricks_state import FakeFormbricksState
from tests.plugin.test_deployment_as_written import KEY, ROOT, VENV, clean_env
from tests.servers import free_port

pytestmark = pytest.mark.servers

SECTION = "## The Community Edition, step by step"
STEPS = ("export PERSONAL_LINKS_", "personal-links db upgrade", "personal-links api-key create",
         "cp docs/contacts-template.csv", "gunicorn ", "personal-links install", "personal-links sync",
         "personal-links host check")
WAIT = ("python3 -c 'import time, urllib.request\nfor _ in range(300):\n    try:\n"
        "        urllib.request.urlopen(\"http://127.0.0.1:'$PORT'/healthz\"); break\n"
        "    except OSError: time.sleep(0.2)'\n")


def steps() -> list[str]:
    """The shell blocks of the numbered list, in order, dedented."""
    text = (ROOT / "docs" / "formbricks.md").read_text()
    section = text.split(f"\n{SECTION}\n", 1)[1].split("\n## ", 1)[0]
    return [textwrap.dedent(block) for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)]


def test_the_list_has_the_steps_in_order_and_the_loopback_setting() -> None:
    blocks = steps()
    assert len(blocks) == len(STEPS)
    for block, step in zip(blocks, STEPS, strict=True):
        assert block.lstrip().startswith(step), (step, block)
    text = (ROOT / "docs" / "formbricks.md").read_text().split(f"\n{SECTION}\n", 1)[1].split("\n## ", 1)[0]
    assert "`DANGEROUSLY_ALLOW_WEBHOOK_INTERNAL_URLS=1`" in text


def test_the_community_edition_list_runs_as_written(tmp_path: Path) -> None:
    state = FakeFormbricksState()
    state.add_survey("clx1abc", name="Staff survey", hidden_fields=["plink"])  # the id the list installs
    folder = tmp_path / "clone"
    (folder / "docs").mkdir(parents=True)
    shutil.copy2(ROOT / "docs" / "contacts-template.csv", folder / "docs")
    (folder / ".venv").symlink_to(VENV)
    port = free_port()
    blocks = steps()
    with run_fake_formbricks(create_fake_formbricks(state, version="5", licensed=False)) as host:
        examples = (f"export PERSONAL_LINKS_PUBLIC_URL=http://127.0.0.1:{port}\n"  # the examples, made real
                    f"export PERSONAL_LINKS_FORMBRICKS_URL={host}\n"
                    f"export PERSONAL_LINKS_FORMBRICKS_API_KEY={state.api_key}\n")
        server = blocks[4].strip() + " &\n" + WAIT  # "a second terminal": here, in the background
        script = "\n".join(["set -eu", ". .venv/bin/activate", blocks[0], examples, *blocks[1:4], server,
                            *blocks[5:]])
        (tmp_path / "steps.sh").write_text(script)
        log = tmp_path / "steps.log"
        with log.open("w") as out:
            process = subprocess.Popen(["bash", str(tmp_path / "steps.sh")], cwd=folder, stdout=out,
                                       stderr=subprocess.STDOUT, env=clean_env(PORT=str(port)),
                                       start_new_session=True)
        try:
            code = process.wait(timeout=240)
        finally:
            try:
                os.killpg(process.pid, signal.SIGTERM)  # the server the script left running
            except ProcessLookupError:
                pass
        output = log.read_text()
        assert code == 0, output
        assert "created the database schema" in output and KEY.search(output), output
        assert "2 added" in output, output  # sync read the file of step 4
        assert "webhook" in output and " fail " not in output.lower(), output
        [webhook] = state.webhooks.values()
        assert webhook["url"] == f"http://127.0.0.1:{port}/webhooks/formbricks"
