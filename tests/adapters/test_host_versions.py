"""Each difference between Formbricks 4.x and 5.x, backed by the host source file and tag it was read from.

Three checks per fact: the fake host behaves so (over HTTP), the adapter's own table agrees with the fake's, and
(when a Formbricks git directory is at hand) the marker is really in that file at that tag, so neither table can
drift from the host unnoticed. Point ``PERSONAL_LINKS_FORMBRICKS_GIT`` at a clone of github.com/formbricks/formbricks
(a bare one is fine) to run the source checks; without one they are skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from adapters.base import AdapterError
from adapters.formbricks import FormbricksAdapter
from adapters.formbricks_versions import VERSIONS, Source
from adapters.http import make_session
from tests.fakes.formbricks_server import create_fake_formbricks, run_fake_formbricks
from tests.fakes.formbricks_state import FakeFormbricksState
from tests.fakes.formbricks_versions import FAKE_VERSIONS, FakeVersion

MIRROR = Path("/work/.mirror/formbricks+formbricks/repo")


def _git_dir() -> Path | None:
    named = os.environ.get("PERSONAL_LINKS_FORMBRICKS_GIT")
    if named:
        return Path(named)
    return MIRROR if MIRROR.is_dir() else None


FACTS = [(major, name, source) for major, version in FAKE_VERSIONS.items() for name, source in version.sources.items()]
ADAPTER_FACTS = [(major, name, source) for major, version in VERSIONS.items()
                 for name, source in version.sources.items()]


def _id(fact: tuple[str, str, Source]) -> str:
    return f"{fact[1]}-{fact[2].path}@{fact[2].tag}"


@pytest.mark.parametrize("fact", FACTS + ADAPTER_FACTS, ids=[_id(f) for f in FACTS + ADAPTER_FACTS])
def test_the_fact_is_in_the_host_source_at_its_tag(fact: tuple[str, str, Source]) -> None:
    git = _git_dir()
    if git is None:
        pytest.skip("no Formbricks git directory (set PERSONAL_LINKS_FORMBRICKS_GIT) to check the source against")
    source = fact[2]
    shown = subprocess.run(["git", f"--git-dir={git}", "show", f"{source.tag}:{source.path}"],
                           capture_output=True, text=True, check=False)
    assert shown.returncode == 0, f"{source}: {shown.stderr.strip()}"
    assert source.marker in shown.stdout, f"{source} no longer says {source.marker!r}"


@pytest.mark.parametrize("major", sorted(FAKE_VERSIONS))
def test_the_adapter_table_agrees_with_the_fake_table(major: str) -> None:
    ours, host = VERSIONS[major], FAKE_VERSIONS[major]
    assert ours.tested == host.tag
    assert ours.id_key in host.v2_webhook_id_keys and ours.id_key in host.v1_webhook_id_keys
    assert ours.me_workspace == host.me_workspace
    assert ours.permissions_key in host.permission_lists
    assert ours.single_use_permission == host.single_use_permission
    assert ours.response_update_merges == host.response_update_merges


class Served:
    def __init__(self, state: FakeFormbricksState, url: str, version: FakeVersion) -> None:
        self.state, self.url, self.version = state, url, version

    def adapter(self) -> FormbricksAdapter:
        return FormbricksAdapter(self.url, self.state.api_key, self.state.workspace_id,
                                 session=make_session(retries=0))

    def post(self, path: str, body: dict[str, object]) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, headers={"x-api-key": self.state.api_key}, timeout=5)


@pytest.fixture(params=sorted(FAKE_VERSIONS), ids=[f"formbricks-{v.tag}" for _, v in sorted(FAKE_VERSIONS.items())])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    state = FakeFormbricksState()
    state.add_survey("sv_1", hidden_fields=["plink"], single_use=True)
    with run_fake_formbricks(create_fake_formbricks(state, version=request.param)) as url:
        yield Served(state, url, FAKE_VERSIONS[request.param])


HOOK = {"name": None, "url": "https://pl.example.org/webhooks/formbricks", "source": "user",
        "triggers": ["responseFinished"], "surveyIds": []}


def test_object_id_keys(served: Served) -> None:
    """Survey and webhook objects carry the workspace id in the version's spellings; the adapter reads either."""
    body = requests.get(f"{served.url}/api/v1/management/surveys/sv_1", headers={"x-api-key": served.state.api_key},
                        timeout=5).json()["data"]
    assert {k for k in ("workspaceId", "environmentId") if k in body} == set(served.version.object_id_keys)
    assert served.adapter().survey("sv_1").workspace_id == served.state.workspace_id


def test_v2_webhook_id_keys(served: Served) -> None:
    """The v2 create takes the version's id keys only; 4.9.7 answers a workspaceId body 422 (the issue's error)."""
    for key in ("workspaceId", "environmentId"):
        answer = served.post("/api/v2/management/webhooks", {**HOOK, key: served.state.workspace_id})
        if key in served.version.v2_webhook_id_keys:
            assert answer.status_code == 201 and answer.json()["data"]["secret"].startswith("whsec_")
        else:
            assert answer.status_code == 422
            assert answer.json()["error"]["details"] == [{"field": "environmentId", "issue": "Invalid cuid2"}]
    made = served.adapter().register_webhook(HOOK["url"], ["responseFinished"])  # the adapter's own spelling
    assert made.secret and served.state.webhooks[made.id]["url"] == HOOK["url"]


def test_v1_webhook_id_keys(served: Served) -> None:
    """The v1 create takes the version's id keys; the adapter falls back to it where v2 answers 404."""
    for key in ("workspaceId", "environmentId"):
        answer = served.post("/api/v1/webhooks", {**HOOK, key: served.state.workspace_id})
        assert answer.status_code == (200 if key in served.version.v1_webhook_id_keys else 400)
    served.state.fail_paths["/api/v2/management/webhooks"] = 404  # a host without v2 webhooks
    adapter = served.adapter()
    made = adapter.register_webhook(HOOK["url"], ["responseFinished"])
    assert made.secret and made.id in [hook.id for hook in adapter.webhooks()]
    adapter.remove_webhook(made.id)
    assert made.id not in served.state.webhooks


def test_me_workspace(served: Served) -> None:
    """``/api/v1/management/me`` tells the version line; the adapter learns it once and keeps it."""
    adapter = served.adapter()
    assert adapter.host_version().tested == served.version.tag
    asked = len(served.state.requests_seen)
    adapter.host_version()
    assert len(served.state.requests_seen) == asked


def test_permission_lists(served: Served) -> None:
    """``/api/v2/me`` lists the key's permission per workspace (5.x: workspacePermissions, 4.x: environment ones)."""
    served.state.permission = "write"
    profile = served.adapter().profile()
    assert (profile.permission, profile.licensed, profile.healthy) == ("write", True, True)
    served.state.organization_read = False
    assert served.adapter().profile().permission is None  # the host does not tell such a key


def test_single_use_permission(served: Served) -> None:
    """singleUseIds checks a read key on 4.9.7 and a write key on 5.x; the adapter's message names the right one."""
    served.state.permission = "read"
    adapter = served.adapter()
    adapter.host_version()
    if served.version.single_use_permission == "read":
        assert len(adapter.single_use_ids("sv_1", 2)) == 2
    else:
        with pytest.raises(AdapterError, match="'write' permission"):
            adapter.single_use_ids("sv_1", 2)


def test_response_update_merges(served: Served) -> None:
    """The adapter's PUT overwrites one key of a response's data; the host keeps the other keys and its meta."""
    response_id = served.state.add_response("sv_1", data={"q1": "yes", "plink": "t_secret"},
                                            url="https://forms.example/s/sv_1?plink=t_secret")
    adapter = served.adapter()
    adapter.host_version()
    adapter.update_response_data(response_id, {"plink": "anonymous"})
    stored = next(r for r in served.state.responses if r["id"] == response_id)
    assert stored["data"] == {"q1": "yes", "plink": "anonymous"}
    assert stored["meta"] == {"url": "https://forms.example/s/sv_1?plink=t_secret"}  # not updatable on the host
    assert served.state.response_updates == [{"id": response_id, "data": {"plink": "anonymous"}}]
    assert f"PUT /api/v1/management/responses/{response_id}" in served.state.requests_seen


def test_response_update_needs_a_write_key(served: Served) -> None:
    """A read key is refused with 401, and the adapter's message names the write permission."""
    response_id = served.state.add_response("sv_1", data={"plink": "t_secret"})
    served.state.permission = "read"
    with pytest.raises(AdapterError, match="'write' permission") as refused:
        served.adapter().update_response_data(response_id, {"plink": "anonymous"})
    assert refused.value.status == 401 and served.state.response_updates == []
