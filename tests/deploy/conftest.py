"""The documented production setup (docs/nginx.conf in front of gunicorn) run for real: needs Debian's nginx.

Without nginx these tests are skipped, and the terminal summary says so in one line, unless
``PERSONAL_LINKS_TEST_REQUIRE_NGINX=1`` (CI) makes that an error.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.deploy.nginx import NGINX


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests behind nginx, with the reason, when there is no nginx to start."""
    here = os.path.dirname(__file__)
    ours = [item for item in items if str(item.path).startswith(here)]
    if NGINX is not None or not ours:
        return
    reason = "nginx not found (install Debian's nginx: apt-get install nginx)"
    if os.environ.get("PERSONAL_LINKS_TEST_REQUIRE_NGINX") == "1":
        raise pytest.UsageError(f"the tests behind nginx are required (PERSONAL_LINKS_TEST_REQUIRE_NGINX=1): {reason}")
    config.stash[_SKIPPED] = (reason, len(ours))
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=f"tests behind nginx skipped: {reason}"))


_SKIPPED = pytest.StashKey[tuple[str, int]]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One clear line when the tests behind nginx did not run."""
    if _SKIPPED in config.stash:
        reason, count = config.stash[_SKIPPED]
        terminalreporter.write_line(f"tests behind nginx skipped ({count}): {reason}", yellow=True, bold=True)
