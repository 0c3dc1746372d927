"""Constants and a fake clock shared by the adapter tests (a uniquely named module, not ``conftest``)."""

from __future__ import annotations

from datetime import UTC, datetime

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
