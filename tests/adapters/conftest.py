"""Fixtures for adapter tests: a Formbricks adapter against a mocked host, fake clocks, no real waiting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from adapters.formbricks import FormbricksAdapter
from adapters.http import make_session
from tests.adapters.adapter_helpers import BASE, KEY, NOW, WS, FakeClock


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
