"""plugin.clock.iso: the host's spelling of a moment (UTC, milliseconds truncated, Z), whatever the zone given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from plugin.clock import iso


@pytest.mark.parametrize(("moment", "spelled"), [
    (datetime(2026, 12, 2, 19, 5, 1, 123456, tzinfo=UTC), "2026-12-02T19:05:01.123Z"),
    (datetime(2026, 12, 2, 19, 5, 1, 999999, tzinfo=UTC), "2026-12-02T19:05:01.999Z"),  # truncated, never rounded
    (datetime(2026, 12, 2, 19, 5, 1, tzinfo=UTC), "2026-12-02T19:05:01.000Z"),
    (datetime(2026, 12, 2, 20, 5, 1, 500, tzinfo=timezone(timedelta(hours=1))), "2026-12-02T19:05:01.000Z"),
    (datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))), "2027-01-01T06:00:00.000Z"),
    (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05.000Z"),  # four digits, as ISO 8601 asks
])
def test_iso_spells_a_moment_as_the_host_does(moment: datetime, spelled: str) -> None:
    assert iso(moment) == spelled


def test_iso_keeps_none() -> None:
    assert iso(None) is None
