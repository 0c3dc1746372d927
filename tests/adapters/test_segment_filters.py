"""Local evaluation of segment filter trees: each operator, nesting, precedence, malformed trees."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.base import AdapterError, Contact
from adapters.segment_filters import matches, validate
from tests.adapters.adapter_helpers import NOW, attr

ADA = Contact(
    host_id="c1",
    custom_id="u-1",
    email="ada@example.org",
    first_name="Ada",
    last_name="Lovelace",
    attributes={"plan": "pro", "age": "36", "signup": "2026-11-20T08:00:00Z", "empty": ""},
)


def group(items: list[dict[str, Any]], connector: str | None = None) -> dict[str, Any]:
    return {"id": "g", "connector": connector, "resource": items}


@pytest.mark.parametrize(
    ("key", "op", "value", "expected"),
    [
        ("plan", "equals", "pro", True),
        ("plan", "equals", "free", False),
        ("plan", "notEquals", "free", True),
        ("age", "equals", 36, True),
        ("age", "lessThan", 40, True),
        ("age", "lessEqual", 36, True),
        ("age", "greaterThan", 36, False),
        ("age", "greaterEqual", 36, True),
        ("plan", "greaterThan", 1, False),  # not a number: no match
        ("plan", "isSet", None, True),
        ("missing", "isSet", None, False),
        ("empty", "isNotSet", None, True),
        ("missing", "notEquals", "x", False),  # as on the host: no attribute, no match
        ("email", "contains", "@example", True),
        ("email", "doesNotContain", "@example", False),
        ("email", "startsWith", "ada", True),
        ("email", "endsWith", ".org", True),
        ("signup", "isOlderThan", {"amount": 2, "unit": "weeks"}, False),
            ("signup", "isOlderThan", {"amount": 1, "unit": "weeks"}, True),
        ("signup", "isNewerThan", {"amount": 10, "unit": "days"}, True),
        ("signup", "isOlderThan", {"amount": 1, "unit": "days"}, True),
        ("signup", "isNewerThan", {"amount": 1, "unit": "months"}, True),
        ("signup", "isOlderThan", {"amount": 1, "unit": "years"}, False),
        ("signup", "isBefore", "2026-11-21", True),
        ("signup", "isAfter", "2026-11-21", False),
        ("signup", "isBetween", ["2026-11-01", "2026-11-20"], True),
        ("signup", "isBetween", ["2026-11-21", "2026-11-30"], False),
        ("signup", "isSameDay", "2026-11-20T23:00:00Z", True),
        ("plan", "isBefore", "2026-11-21", False),  # not a date: no match
        ("firstName", "equals", "Ada", True),
        ("lastName", "startsWith", "Love", True),
        ("userId", "equals", "u-1", True),
    ],
)
def test_each_operator(key: str, op: str, value: Any, expected: bool) -> None:
    assert matches([attr(key, op, value)], ADA, NOW) is expected


def test_person_filter_matches_user_id() -> None:
    person = {
        "id": "p",
        "connector": None,
        "resource": {
            "id": "r",
            "root": {"type": "person", "personIdentifier": "userId"},
            "qualifier": {"operator": "equals"},
            "value": "u-1",
        },
    }
    assert matches([person], ADA, NOW)
    assert not matches([person], Contact(host_id="c2", custom_id="u-2"), NOW)


def test_empty_tree_matches_everyone() -> None:
    assert matches([], ADA, NOW)


def test_and_binds_tighter_than_or() -> None:
    # false AND false OR true -> true; false AND (false OR true) -> false
    tree = [
        attr("plan", "equals", "free"),
        attr("age", "equals", 1, "and"),
        attr("plan", "equals", "pro", "or"),
    ]
    assert matches(tree, ADA, NOW)
    nested = [
        attr("plan", "equals", "free"),
        group([attr("age", "equals", 1), attr("plan", "equals", "pro", "or")], "and"),
    ]
    assert not matches(nested, ADA, NOW)


def test_nested_groups() -> None:
    tree = [
        group([attr("plan", "equals", "pro"), attr("age", "greaterThan", 30, "and")]),
        group([attr("email", "endsWith", ".com")], "or"),
    ]
    assert matches(tree, ADA, NOW)


@pytest.mark.parametrize("kind", ["device", "surveyInteraction", "segment"])
def test_unsupported_kinds_are_named(kind: str) -> None:
    tree = [
        {
            "id": "x",
            "connector": None,
            "resource": {
                "id": "r",
                "root": {"type": kind},
                "qualifier": {"operator": "equals"},
                "value": "phone",
            },
        }
    ]
    assert validate(tree) == []
    with pytest.raises(AdapterError, match=f"kind '{kind}'"):
        matches(tree, ADA, NOW)


@pytest.mark.parametrize(
    ("tree", "problem"),
    [
        ({"not": "a list"}, "filters: must be a list"),
        (["x"], "filters[0]: must be an object"),
        ([attr("plan", "equals", "pro", connector="and")], "filters[0].connector: must be null"),
        ([attr("plan", "equals", "pro"), attr("age", "equals", 1, connector="xor")], "filters[1].connector"),
        ([{"id": "x", "connector": None}], "filters[0].resource: missing"),
        ([attr("plan", "like", "x")], "filters[0].resource.qualifier.operator: unknown operator 'like'"),
        ([attr("age", "lessThan", "40")], "needs a number"),
        ([attr("signup", "isOlderThan", {"amount": 1, "unit": "fortnights"})], "isOlderThan"),
        ([attr("signup", "isBetween", ["2026-01-01"])], "isBetween"),
        ([attr("signup", "isBefore", "tomorrow")], "needs an ISO date"),
        ([attr("", "equals", "x")], "contactAttributeKey: missing"),
        (
            [{"id": "x", "connector": None, "resource": {"root": {"type": "weather"}}}],
            "unknown filter kind 'weather'",
        ),
        (
            [group([attr("plan", "equals", "pro"), attr("plan", "equals", 1, None)])],
            "filters[0].resource[1].connector",
        ),
    ],
)
def test_malformed_trees_are_reported_precisely(tree: Any, problem: str) -> None:
    problems = validate(tree)
    assert any(problem in p for p in problems), problems
    with pytest.raises(AdapterError, match="malformed segment filters"):
        matches(tree, ADA, NOW)


@pytest.mark.parametrize("operator, value", [
    ("isOlderThan", {"amount": float("nan"), "unit": "days"}),
    ("isOlderThan", {"amount": 1e300, "unit": "years"}),
    ("isNewerThan", {"amount": -1, "unit": "days"}),
    ("greaterThan", float("inf")),
    ("isBefore", "9999-12-31T23:00:00-05:00"),
])
def test_values_that_would_overflow_are_refused_by_validate(operator: str, value: object) -> None:
    assert validate([attr("since", operator, value)]) != []


@pytest.mark.parametrize("stored, comparable", [("9999-12-31T23:00:00-05:00", False),
                                                ("0001-01-01T00:00:00+01:00", False), ("2026-01-01", True)])
def test_extreme_amounts_and_dates_evaluate_without_errors(stored: str, comparable: bool) -> None:
    contact = Contact(host_id="c", attributes={"since": stored})
    for unit in ("days", "weeks", "months", "years"):
        assert matches([attr("since", "isOlderThan", {"amount": 10_000, "unit": unit})], contact, NOW) is False
    assert matches([attr("since", "isAfter", "2000-01-01")], contact, NOW) is comparable  # out of range: no date
