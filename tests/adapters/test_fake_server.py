"""FormbricksAdapter end to end against the fake Formbricks served over real HTTP, for 4.x and 5.x."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from adapters.base import AdapterError
from adapters.formbricks import FormbricksAdapter
from adapters.http import make_session
from tests.adapters.adapter_helpers import PRO
from tests.fakes.formbricks_server import create_fake_formbricks, run_fake_formbricks
from tests.fakes.formbricks_state import FakeFormbricksState


@dataclass
class Host:
    state: FakeFormbricksState
    url: str
    survey: str
    segment: str

    def adapter(self, key: str | None = None) -> FormbricksAdapter:
        session = make_session(retries=2, backoff_factor=0)
        key = key or self.state.api_key
        return FormbricksAdapter(self.url, key, self.state.workspace_id, session=session)


def seeded() -> tuple[FakeFormbricksState, str, str]:
    state = FakeFormbricksState()
    ada = state.add_contact("c_ada", userId="u-ada", email="ada@example.org", firstName="Ada", plan="pro")
    state.add_contact("c_bob", userId="u-bob", email="bob@example.org", plan="free")
    segment = state.add_segment("sg_pro", title="Pro users", filters=PRO, members=[ada])
    state.add_segment("sg_priv", title="private", is_private=True)
    survey = state.add_survey(
        "sv_1", name="NPS", hidden_fields=["plink"], single_use=True, segment_id=segment
    )
    state.add_survey("sv_2", name="App", type="app", segment_id="sg_priv")
    state.add_response(survey, contact_id=ada, data={"plink": "tok"}, url="https://s/s/sv_1?plink=tok")
    return state, survey, segment


@pytest.fixture(params=["4", "5"])
def host(request: pytest.FixtureRequest) -> Iterator[Host]:
    state, survey, segment = seeded()
    with run_fake_formbricks(create_fake_formbricks(state, version=request.param)) as url:
        yield Host(state, url, survey, segment)


def test_end_to_end(host: Host) -> None:
    adapter = host.adapter()
    assert adapter.whoami().id == host.state.workspace_id
    contacts = {c.host_id: c for c in adapter.contacts()}
    assert contacts["c_ada"].first_name == "Ada" and contacts["c_ada"].attributes == {"plan": "pro"}
    segments = adapter.segments()
    assert [(s.id, s.member_ids) for s in segments] == [("sg_pro", ("c_ada",))]
    assert {s.id for s in adapter.segments(include_private=True, resolve=False)} == {"sg_pro", "sg_priv"}
    surveys = {s.id: s for s in adapter.surveys()}
    assert surveys["sv_1"].hidden_field_ids == ("plink",) and surveys["sv_1"].single_use
    assert surveys["sv_1"].public_url == f"{host.url}/s/sv_1"
    urls = adapter.single_use_ids(host.survey, 3)
    assert len(urls) == 3 and all("suId=" in u for u in urls)

    hook = adapter.register_webhook("https://pl.example/hook", ["responseFinished"], [host.survey])
    assert hook.secret and hook.secret.startswith("whsec_")
    listed = adapter.webhooks()
    assert [(h.id, h.secret) for h in listed] == [(hook.id, None)]
    adapter.remove_webhook(hook.id)
    adapter.remove_webhook(hook.id)  # gone already: fine
    assert adapter.webhooks() == []

    [resp] = list(adapter.responses(host.survey))
    assert (resp.contact_id, resp.data, resp.meta_url) == (
        "c_ada",
        {"plink": "tok"},
        "https://s/s/sv_1?plink=tok",
    )
    adapter.delete_response(resp.id)
    assert list(adapter.responses(host.survey)) == []


def test_segment_members_survive_dropped_contacts(host: Host) -> None:
    ids = [host.state.add_contact(userId=f"u{i}") for i in range(600)]
    host.state.segments[host.segment]["members"] = ids
    host.state.link_failures.update(ids[:5])  # the first page comes back short
    members = host.adapter().segment_members(host.survey, host.segment)
    assert members == ids[5:]


def test_segments_evaluated_locally_when_no_survey_is_live(host: Host) -> None:
    host.state.surveys[host.survey]["status"] = "paused"
    host.state.segments[host.segment]["members"] = []  # the host would say nobody; local filters say Ada
    assert host.adapter().segments()[0].member_ids == ("c_ada",)


def test_wrong_key_is_401(host: Host) -> None:
    with pytest.raises(AdapterError) as err:
        host.adapter(key="fbk_wrong").surveys()
    assert err.value.status == 401 and "fbk_wrong" not in err.value.message


def test_unknown_survey_is_404(host: Host) -> None:
    with pytest.raises(AdapterError) as err:
        host.adapter().survey("nope")
    assert err.value.status == 404


def test_without_licence_contacts_say_use_csv() -> None:
    state, _, _ = seeded()
    with run_fake_formbricks(create_fake_formbricks(state, licensed=False)) as url:
        adapter = FormbricksAdapter(
            url, state.api_key, state.workspace_id, session=make_session(backoff_factor=0)
        )
        with pytest.raises(AdapterError, match="CSV"):
            list(adapter.contacts())
        assert [s.id for s in adapter.surveys()]  # surveys work without the licence


def test_rate_limit_429_is_waited_out() -> None:
    state, _, _ = seeded()
    now = [0.0]
    state.clock = lambda: now[0]

    def wait(seconds: float) -> None:
        now[0] += seconds

    with run_fake_formbricks(create_fake_formbricks(state, rate_limit=2)) as url:
        session = make_session(retries=3, backoff_factor=30, sleep=wait)
        adapter = FormbricksAdapter(url, state.api_key, state.workspace_id, session=session)
        adapter.whoami()
        adapter.whoami()
        assert adapter.whoami().id == state.workspace_id  # 429, 429, then a minute later 200
        assert now[0] >= 60
        exhausted = FormbricksAdapter(url, state.api_key, session=make_session(retries=1, sleep=wait))
        exhausted.whoami()  # the minute's second request; the third is refused
        with pytest.raises(AdapterError) as err:
            exhausted.whoami()
        assert err.value.status == 429
