"""The documented production setup (docs/nginx.conf in front of gunicorn) run for real: needs Debian's nginx.

Without nginx these tests are skipped, and the terminal summary says so in one line, unless
``PERSONAL_LINKS_TEST_REQUIRE_NGINX=1`` (CI) makes that an error.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests import needs
from tests.deploy.nginx import NGINX

WHAT = "tests behind nginx"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests behind nginx, with the reason, when there is no nginx to start."""
    here = os.path.dirname(__file__)
    missing = None if NGINX is not None else "nginx not found (install Debian's nginx: apt-get install nginx)"
    needs.skip_or_require(config, [item for item in items if str(item.path).startswith(here)], WHAT, missing,
                          "PERSONAL_LINKS_TEST_REQUIRE_NGINX")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One clear line when the tests behind nginx did not run."""
    needs.summary(terminalreporter, config, WHAT)
