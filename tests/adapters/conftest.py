"""Fixtures for adapter tests: a Formbricks adapter against a mocked host, fake clocks, no real waiting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import responses

from adapters.formbricks import FormbricksAdapter
from adapters.http import make_session

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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    """Seconds the retry logic asked to sleep (it never really sleeps in tests)."""
    return []


@pytest.fixture
def adapter(sleeps: list[float]) -> FormbricksAdapter:
    session = make_session(retries=3, backoff_factor=0.5, sleep=sleeps.append)
    return FormbricksAdapter(
        BASE, KEY, WS, "https://survey.example.org", session=session, timeout=5, clock=lambda: NOW
    )


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps
