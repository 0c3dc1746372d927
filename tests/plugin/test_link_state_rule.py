"""The link-state rule in its two forms agrees: ``state_of`` (Python) and ``state_expression`` (SQL).

A grid of real link rows (revoked or not, uses left or not, expiry and validFrom around the moment, the boundary
instants to the microsecond) is written to the database; for each row the state SQL selects must be the state
``state_of`` gives for the same values, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, literal, select

from plugin import respondent
from plugin.db import UTCDateTime, db
from plugin.models import Contact, Link
from plugin.services.links import link_state, previews
from plugin.services.links.links import STATES, state_expression, state_of
from tests.helpers import SURVEY_ID

TICK = timedelta(microseconds=1)
# a moment with microseconds, and one on a whole second (SQLite compares the stored text: both must order right)
MOMENTS = (datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC), datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC))
USES = ((0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 2))  # (use_count, max_uses)


def grid(now: datetime) -> list[dict[str, object]]:
    """Every combination of revoked, uses, expiry and validFrom around ``now``, as link columns."""
    revoked = (None, now - timedelta(seconds=1), now + timedelta(seconds=1))
    expires = (None, now - TICK, now, now + TICK)
    valid = (None, now - TICK, now, now + TICK)
    return [{"revoked_at": r, "use_count": u, "max_uses": m, "expires_at": e, "valid_from": v}
            for r, (u, m), e, v in itertools.product(revoked, USES, expires, valid)]


def test_python_and_sql_forms_of_the_link_state_agree(seeded) -> None:
    contact_id = db.session.scalar(select(Contact.id).where(Contact.host_id == "c1"))
    for number, now in enumerate(MOMENTS):
        rows = grid(now)
        batch = f"grid-{number}"
        db.session.execute(insert(Link), [
            {**row, "survey_id": SURVEY_ID, "contact_id": contact_id, "created_at": now - timedelta(days=1),
             "open_count": 0, "is_current": False, "batch_id": batch} for row in rows])
        db.session.commit()
        stored = db.session.execute(
            select(Link.revoked_at, Link.use_count, Link.max_uses, Link.expires_at, Link.valid_from,
                   state_expression(now)).where(Link.batch_id == batch).order_by(Link.id)).all()
        assert [dict(zip(rows[0], row[:5], strict=True)) for row in stored] == rows  # stored to the microsecond
        disagreements = [(row, sql_state, state_of(**row, now=now))
                         for row, (*_, sql_state) in zip(rows, stored, strict=True)
                         if sql_state != state_of(**row, now=now)]
        assert disagreements == []
        assert {state for *_, state in stored} == set(STATES)  # the grid reaches every state


def test_each_predicate_agrees_with_its_sql_form(seeded) -> None:
    contact_id = db.session.scalar(select(Contact.id).where(Contact.host_id == "c1"))
    now = MOMENTS[0]
    rows = grid(now)
    db.session.execute(insert(Link), [
        {**row, "survey_id": SURVEY_ID, "contact_id": contact_id, "created_at": now - timedelta(days=1),
         "open_count": 0, "is_current": False} for row in rows])
    db.session.commit()
    at = literal(now, UTCDateTime)
    selected = db.session.execute(select(
        link_state.has_use_left_sql(), link_state.expired_at_sql(at), link_state.open_at_sql(at),
        link_state.not_yet_valid_sql(at)).order_by(Link.id)).all()
    expected = [(link_state.has_use_left(row["use_count"], row["max_uses"]),
                 link_state.expired_at(row["expires_at"], now), link_state.open_at(row["expires_at"], now),
                 link_state.not_yet_valid(row["valid_from"], now)) for row in rows]
    assert [tuple(bool(value) for value in row) for row in selected] == expected
    assert {row[1:3] for row in expected} == {(True, False), (False, True)}  # expired and open are opposites


@pytest.mark.parametrize(("expires_at", "valid_from", "state"), [
    (MOMENTS[0], None, "expired"),  # expired from its expiry's very instant
    (MOMENTS[0] + TICK, None, "live"),
    (None, MOMENTS[0], "live"),  # valid from its validFrom's very instant
    (None, MOMENTS[0] + TICK, "pending"),
])
def test_the_boundary_instants_fall_as_the_rule_says(expires_at, valid_from, state) -> None:
    assert state_of(None, 0, 1, expires_at, valid_from, MOMENTS[0]) == state


def test_every_state_but_live_has_its_page_and_every_state_its_preview() -> None:
    assert set(respondent.STATES) == set(STATES) - {"live"} | {"invalid"}
    assert previews.STATES == (*STATES, "invalid")
