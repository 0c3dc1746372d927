"""Local evaluation of Formbricks segment filter trees over Contacts: pure functions, no I/O.

A tree is a list of ``{id, connector, resource}``; ``connector`` is null on the first item and ``and``/``or``
after; ``resource`` is a filter or a nested list. As in Formbricks, ``and`` binds tighter than ``or`` and an
empty tree matches everyone. Only ``attribute`` and ``person`` filters can be evaluated here; the others need
the host's data (devices, survey interactions) and raise AdapterError naming the kind.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from adapters.base import AdapterError, Contact

STRING_OPS = {"contains", "doesNotContain", "startsWith", "endsWith"}
NUMBER_OPS = {"lessThan", "lessEqual", "greaterThan", "greaterEqual"}
AGE_OPS = {"isOlderThan", "isNewerThan"}
DATE_OPS = {"isBefore", "isAfter", "isSameDay"}
BASIC_OPS = {"equals", "notEquals", "isSet", "isNotSet", "isBetween"}
OPERATORS = BASIC_OPS | STRING_OPS | NUMBER_OPS | AGE_OPS | DATE_OPS
UNITS = {"days", "weeks", "months", "years"}
KINDS = {"attribute", "person", "segment", "device", "surveyInteraction", "action"}
LOCAL_KINDS = {"attribute", "person"}
FIELD_KEYS = {"userId": "custom_id", "email": "email", "firstName": "first_name", "lastName": "last_name"}


# -- validation ---------------------------------------------------------------------------------------------

MAX_AGE_AMOUNT = 10_000  # days, weeks, months or years: far more than any real filter, far from overflow


def _parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        # In UTC at once: a date at the edge of datetime's range (year 1 or 9999) with an offset overflows here,
        # and is then no date we can compare, rather than an OverflowError in the middle of a sync.
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _value_problem(op: str, value: Any) -> str | None:
    if op in ("isSet", "isNotSet"):
        return None
    if op in NUMBER_OPS and not _is_number(value):
        return f"operator {op!r} needs a number, got {value!r}"
    if op in AGE_OPS:
        ok = (isinstance(value, Mapping) and _is_number(value.get("amount")) and value.get("unit") in UNITS
              and 0 <= value["amount"] <= MAX_AGE_AMOUNT)
        if not ok:
            return (f"operator {op!r} needs {{amount: number 0..{MAX_AGE_AMOUNT}, unit: {'|'.join(sorted(UNITS))}}}, "
                    f"got {value!r}")
    if op in DATE_OPS and _parse_date(value) is None:
        return f"operator {op!r} needs an ISO date, got {value!r}"
    if op == "isBetween" and not (
        isinstance(value, list | tuple) and len(value) == 2 and all(_parse_date(v) for v in value)
    ):
        return f"operator 'isBetween' needs [from, to] ISO dates, got {value!r}"
    if op in STRING_OPS | {"equals", "notEquals"} and not (isinstance(value, str) or _is_number(value)):
        return f"operator {op!r} needs a string or number, got {value!r}"
    return None


def _filter_problems(res: Any, path: str) -> list[str]:
    if not isinstance(res, Mapping):
        return [f"{path}: a filter must be an object or a list, got {type(res).__name__}"]
    root = res.get("root")
    if not isinstance(root, Mapping) or root.get("type") not in KINDS:
        kind = root.get("type") if isinstance(root, Mapping) else None
        return [f"{path}.root.type: unknown filter kind {kind!r}; known: {', '.join(sorted(KINDS))}"]
    kind = root["type"]
    if kind not in LOCAL_KINDS:
        return []  # well formed as far as we know it; matches() refuses it by name
    problems = []
    attr_key = root.get("contactAttributeKey")
    if kind == "attribute" and not (isinstance(attr_key, str) and attr_key):
        problems.append(f"{path}.root.contactAttributeKey: missing")
    qualifier = res.get("qualifier")
    op = qualifier.get("operator") if isinstance(qualifier, Mapping) else None
    if op not in OPERATORS:
        problems.append(f"{path}.qualifier.operator: unknown operator {op!r}")
    else:
        problem = _value_problem(op, res.get("value"))
        if problem:
            problems.append(f"{path}.value: {problem}")
    return problems


def validate(filters: Any, path: str = "filters") -> list[str]:
    """Every problem of a filter tree, each prefixed with its path; an empty list when well formed."""
    if not isinstance(filters, list):
        return [f"{path}: must be a list, got {type(filters).__name__}"]
    problems: list[str] = []
    for index, item in enumerate(filters):
        where = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be an object, got {type(item).__name__}")
            continue
        connector = item.get("connector")
        if index == 0 and connector is not None:
            problems.append(f"{where}.connector: must be null on the first item, got {connector!r}")
        elif index > 0 and connector not in ("and", "or"):
            problems.append(f"{where}.connector: must be 'and' or 'or', got {connector!r}")
        if "resource" not in item:
            problems.append(f"{where}.resource: missing")
        elif isinstance(item["resource"], list):
            problems.extend(validate(item["resource"], f"{where}.resource"))
        else:
            problems.extend(_filter_problems(item["resource"], f"{where}.resource"))
    return problems


# -- evaluation ---------------------------------------------------------------------------------------------

def _contact_value(contact: Contact, key: str) -> str | None:
    if key in FIELD_KEYS:
        return getattr(contact, FIELD_KEYS[key])  # type: ignore[no-any-return]
    return contact.attributes.get(key)


def _shift(moment: datetime, amount: float, unit: str) -> datetime:
    try:
        return _shift_back(moment, amount, unit)
    except (OverflowError, ValueError):  # further back than the calendar goes: before every date
        return datetime.min.replace(tzinfo=UTC)


def _shift_back(moment: datetime, amount: float, unit: str) -> datetime:
    if unit in ("days", "weeks"):
        return moment - timedelta(days=amount * (7 if unit == "weeks" else 1))
    months = int(amount) * (12 if unit == "years" else 1)
    year, month = divmod(moment.month - 1 - months, 12)
    year, month = moment.year + year, month + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _to_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(op: str, actual: str | None, value: Any, now: datetime) -> bool:
    if op == "isSet":
        return actual not in (None, "")
    if op == "isNotSet":
        return actual in (None, "")
    if actual in (None, ""):
        return False  # as on the host: a contact without the attribute matches no other operator
    assert actual is not None
    if op in ("equals", "notEquals"):
        if _is_number(value):
            number = _to_number(actual)
            same = number is not None and number == float(value)
        else:
            same = actual == str(value)
        return same if op == "equals" else not same
    if op in STRING_OPS:
        text = str(value)
        return {"contains": text in actual, "doesNotContain": text not in actual,
                "startsWith": actual.startswith(text), "endsWith": actual.endswith(text)}[op]
    if op in NUMBER_OPS:
        number = _to_number(actual)
        if number is None:
            return False
        return {"lessThan": number < value, "lessEqual": number <= value,
                "greaterThan": number > value, "greaterEqual": number >= value}[op]
    moment = _parse_date(actual)
    if moment is None:
        return False
    if op in AGE_OPS:
        limit = _shift(now, value["amount"], value["unit"])
        return moment < limit if op == "isOlderThan" else moment >= limit
    if op == "isBetween":
        start, end = (_parse_date(v) for v in value)
        assert start is not None and end is not None
        return _day(start) <= _day(moment) <= _day(end)
    other = _parse_date(value)
    assert other is not None
    return {"isBefore": moment < other, "isAfter": moment > other,
            "isSameDay": _day(moment) == _day(other)}[op]


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _evaluate_filter(res: Mapping[str, Any], contact: Contact, now: datetime) -> bool:
    kind = res["root"]["type"]
    if kind not in LOCAL_KINDS:
        raise AdapterError(
            f"segment filter kind {kind!r} cannot be evaluated outside Formbricks (only attribute and person "
            "filters can); resolve this segment through the host or export its members as CSV"
        )
    key = res["root"].get("contactAttributeKey") if kind == "attribute" else res["root"].get(
        "personIdentifier", "userId")
    return _compare(res["qualifier"]["operator"], _contact_value(contact, str(key)), res.get("value"), now)


def _evaluate(filters: list[Any], contact: Contact, now: datetime) -> bool:
    groups: list[bool] = []  # each entry an and-group; the groups are or-ed, as the host does
    for index, item in enumerate(filters):
        res = item["resource"]
        if isinstance(res, list):
            result = _evaluate(res, contact, now)
        else:
            result = _evaluate_filter(res, contact, now)
        if index > 0 and item["connector"] == "and":
            groups[-1] = groups[-1] and result
        else:
            groups.append(result)
    return not groups or any(groups)


def matches(filters: Any, contact: Contact, now: datetime) -> bool:
    """Whether ``contact`` is in the segment the filter tree describes, at time ``now`` (aware datetime)."""
    problems = validate(filters)
    if problems:
        raise AdapterError("malformed segment filters: " + "; ".join(problems), body=filters)
    return _evaluate(filters, contact, now)
