"""Webhook test fixtures: the shared verification cases and the deliveries captured from Formbricks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"


def _standard_cases() -> list[dict[str, Any]]:
    return json.loads((SHARED / "standard-webhooks-cases.json").read_text(encoding="utf-8"))["cases"]


def _captured() -> list[dict[str, Any]]:
    lines = (SHARED / "formbricks-webhooks-captured.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``standard_case`` and ``captured`` by the entries of the shared files, named by them."""
    if "standard_case" in metafunc.fixturenames:
        cases = _standard_cases()
        metafunc.parametrize("standard_case", cases, ids=[case["name"] for case in cases])
    if "captured" in metafunc.fixturenames:
        deliveries = _captured()
        ids = [json.loads(d["body"])["event"] for d in deliveries]
        metafunc.parametrize("captured", deliveries, ids=ids)


@pytest.fixture
def real_delivery() -> dict[str, Any]:
    """The first captured delivery (responseCreated), to re-sign with one thing broken per test."""
    return _captured()[0]
