"""Fixtures for the plugin's tests: a few contacts in segments and a link survey."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.helpers import SURVEY_ID, seed


@pytest.fixture
def seeded(app: Flask) -> dict[str, Any]:
    """Contacts c1..c4 in segments alpha (c1-c3) and beta (c1, c4), and the link survey survey-1."""
    seed()
    return {"survey": SURVEY_ID, "segments": {"alpha": ["c1", "c2", "c3"], "beta": ["c1", "c4"]}}
