"""A fake Formbricks served over real HTTP for the plugin's end-to-end tests, seeded with a small workspace."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.formbricks import FormbricksAdapter
from adapters.http import make_session
from plugin.db import DbSession, db
from plugin.models import Contact, SegmentMember
from tests.adapters.adapter_helpers import PRO
from tests.fakes.formbricks_server import create_fake_formbricks, run_fake_formbricks
from tests.fakes.formbricks_state import FakeFormbricksState

SNAPSHOT_TABLES = ("contacts", "segments", "segment_members", "surveys", "links", "audit_events")


@dataclass
class FakeHost:
    """The fake host's state and base URL; adapters for it that never retry or wait."""

    state: FakeFormbricksState
    url: str
    version: str

    def adapter(self) -> FormbricksAdapter:
        """An adapter without retries or rate limiting, so failures show at once."""
        return FormbricksAdapter(self.url, self.state.api_key, self.state.workspace_id,
                                 session=make_session(retries=0))

    def settings(self, **extra: Any) -> dict[str, str]:
        """The PERSONAL_LINKS_* settings (without prefix) that point at this host."""
        return {"SURVEY_HOST": "formbricks", "CONTACT_SOURCE": "formbricks", "FORMBRICKS_URL": self.url,
                "FORMBRICKS_API_KEY": self.state.api_key, "FORMBRICKS_WORKSPACE_ID": self.state.workspace_id,
                **extra}


def seed(state: FakeFormbricksState) -> None:
    """Three contacts; segment sg_pro (Ada) carried by link survey sv_1 (hidden field plink, single-use);
    link survey sv_2 without hidden fields."""
    state.add_contact("c_ada", userId="u-ada", email="ada@example.org", firstName="Ada", plan="pro")
    state.add_contact("c_bob", userId="u-bob", email="bob@example.org", firstName="Bob", plan="free")
    state.add_contact("c_cy", userId="u-cy", email="cy@example.org", plan="pro")
    state.add_segment("sg_pro", title="Pro users", filters=PRO, members=["c_cy", "c_ada"])
    state.add_survey("sv_1", name="NPS", hidden_fields=["plink"], single_use=True, segment_id="sg_pro")
    state.add_survey("sv_2", name="Plain", hidden_fields=None)


def serve(version: str = "5", licensed: bool = True) -> Iterator[FakeHost]:
    """Serve a seeded fake host for the duration of a test."""
    state = FakeFormbricksState()
    seed(state)
    with run_fake_formbricks(create_fake_formbricks(state, version=version, licensed=licensed)) as url:
        yield FakeHost(state, url, version)


@pytest.fixture(params=["4", "5"])
def fake_host(request: pytest.FixtureRequest) -> Iterator[FakeHost]:
    """A seeded fake Formbricks 4.x and 5.x in turn, with the Contacts licence."""
    yield from serve(request.param)


@pytest.fixture
def fake_host_v5() -> Iterator[FakeHost]:
    """A seeded fake Formbricks 5.x with the licence (for tests where the version does not matter)."""
    yield from serve("5")


def snapshot(session: DbSession | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a sync may touch, in a stable order (sync_runs excluded)."""
    session = session or db.session
    session.rollback()
    return {table: sorted(tuple(map(repr, row)) for row in session.execute(sa.text(f'SELECT * FROM "{table}"')))
            for table in SNAPSHOT_TABLES}


def members(segment_id: str) -> list[str]:
    """Host ids of the segment's live members, sorted."""
    return sorted(db.session.scalars(
        sa.select(Contact.host_id).join(SegmentMember, SegmentMember.contact_id == Contact.id)
        .where(SegmentMember.segment_id == segment_id, Contact.deleted_at.is_(None))))
