"""Tests that need a tool from outside Python (Chromium, nginx): skipped with the reason when it is missing, and
the terminal summary says so in one line, unless a ``PERSONAL_LINKS_TEST_REQUIRE_...`` variable (CI) makes a
missing tool an error. One mechanism for every such tool, called from each folder's conftest."""

from __future__ import annotations

import os
from typing import Any

import pytest

_SKIPPED = pytest.StashKey[dict[str, tuple[str, int]]]()


def skip_or_require(config: pytest.Config, items: list[pytest.Item], what: str, missing: str | None,
                    require: str) -> None:
    """Skip ``items`` (the tests ``what`` names) because of ``missing``, or fail the run when ``require`` is 1."""
    if missing is None or not items:
        return
    if os.environ.get(require) == "1":
        raise pytest.UsageError(f"{what} are required ({require}=1): {missing}")
    config.stash.setdefault(_SKIPPED, {})[what] = (missing, len(items))
    for item in items:
        item.add_marker(pytest.mark.skip(reason=f"{what} skipped: {missing}"))


def summary(terminalreporter: Any, config: pytest.Config, what: str) -> None:
    """One clear line when the tests ``what`` names did not run."""
    skipped = config.stash.get(_SKIPPED, {}).get(what)
    if skipped is not None:
        reason, count = skipped
        terminalreporter.write_line(f"{what} skipped ({count}): {reason}", yellow=True, bold=True)
