"""Fixtures for the plugin's tests: a few contacts in segments and a link survey; the command line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from plugin.cli import cli
from plugin.db import db
from tests.helpers import PUBLIC_URL, SECRET_KEY, SURVEY_ID, seed


@pytest.fixture
def seeded(app: Flask) -> dict[str, Any]:
    """Contacts c1..c4 in segments alpha (c1-c3) and beta (c1, c4), and the link survey survey-1."""
    seed()
    return {"survey": SURVEY_ID, "segments": {"alpha": ["c1", "c2", "c3"], "beta": ["c1", "c4"]}}


@pytest.fixture
def run(app: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run the CLI against the test database (the app fixture holds the same database)."""
    for name, value in {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL}.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)

    def invoke(*args: str) -> Result:
        result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
        db.session.rollback()  # see what the command committed
        return result

    return invoke
