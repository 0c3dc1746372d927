"""Constants and a fake clock shared by the adapter tests (a uniquely named module, not ``conftest``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

BASE = "https://fb.example.org"
KEY = "fbk_secret_key_never_logged"
WS = "ws_main"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def attr(key: str, op: str, value: Any = None, connector: str | None = None) -> dict[str, Any]:
    """One attribute filter in the host's segment filter format."""
    return {
        "id": f"f-{key}-{op}",
        "connector": connector,
        "resource": {
            "id": f"r-{key}",
            "root": {"type": "attribute", "contactAttributeKey": key},
            "qualifier": {"operator": op},
            "value": value,
        },
    }


PRO = [attr("plan", "equals", "pro")]  # the segment "plan equals pro", as the host stores it
