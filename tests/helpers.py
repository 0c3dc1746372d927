"""Constants and small helpers the test folders share (importable as ``tests.helpers``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
SECRET_KEY = "test-secret-key-0123456789"
PUBLIC_URL = "https://links.example.com"
POSTGRES_URL = os.environ.get("PERSONAL_LINKS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SHARED = Path(__file__).resolve().parents[2] / "shared"


def base_config(database_url: str, **extra: Any) -> dict[str, Any]:
    """The settings every test app starts from."""
    return {"TESTING": True, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL, "DATABASE_URL": database_url,
            **extra}
