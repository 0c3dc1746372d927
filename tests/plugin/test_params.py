"""Expiry options: a chosen day lasts until 00:00:00 UTC the day after; tomorrow is the earliest day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plugin.errors import InvalidInput
from plugin.services.links.links import state_of
from plugin.services.links.params import parse_issue_options

LATE = datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC)


def test_expires_on_lasts_the_whole_day() -> None:
    options = parse_issue_options({"expiresOn": "2026-11-29"}, LATE)
    assert options.expires_at == datetime(2026, 11, 30, 0, 0, 0, tzinfo=UTC)
    last_second = datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC)
    assert state_of(None, 0, 1, options.expires_at, None, last_second) == "live"
    assert state_of(None, 0, 1, options.expires_at, None, last_second + timedelta(seconds=1)) == "expired"


@pytest.mark.parametrize("day", ["2026-11-28", "2026-11-27", "2000-01-01"])
def test_today_and_past_are_refused(day: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_issue_options({"expiresOn": day}, LATE)
    assert caught.value.details == [{"field": "expiresOn", "issue": "must be 2026-11-29 (tomorrow, UTC) or later"}]


def test_tomorrow_changes_at_midnight_utc() -> None:
    midnight = datetime(2026, 11, 29, 0, 0, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        parse_issue_options({"expiresOn": "2026-11-29"}, midnight)
    assert parse_issue_options({"expiresOn": "2026-11-30"}, midnight).expires_at == datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("args, field", [
    ({"expiresOn": "29/11/2026"}, "expiresOn"), ({"expiresOn": "2026-02-30"}, "expiresOn"),
    ({"expirationDays": "0"}, "expirationDays"), ({"expirationDays": "366"}, "expirationDays"),
    ({"expirationDays": "x"}, "expirationDays"), ({"expirationDays": "3", "expiresOn": "2027-01-01"}, "expiresOn"),
    ({"maxUses": "0"}, "maxUses"), ({"validFrom": "soon"}, "validFrom"),
    ({"validFrom": "2027-02-01", "expiresOn": "2027-01-01"}, "validFrom"), ({"rotate": "perhaps"}, "rotate"),
])
def test_malformed_options_name_their_field(args: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_issue_options(args, LATE)
    assert caught.value.details[0]["field"] == field


def test_expiration_days_counts_from_now() -> None:
    options = parse_issue_options({"expirationDays": "7", "maxUses": "3", "rotate": "true"}, LATE)
    assert options.expires_at == LATE + timedelta(days=7)
    assert (options.max_uses, options.rotate) == (3, True)
