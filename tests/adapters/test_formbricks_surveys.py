"""FormbricksAdapter as survey host: surveys, webhooks, single-use ids, responses (mocked host)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from adapters.base import AdapterError
from adapters.formbricks import FormbricksAdapter
from adapters.http import make_session
from tests.adapters.adapter_helpers import BASE, WS

V1 = f"{BASE}/api/v1/management"
V2 = f"{BASE}/api/v2/management"
def sent(mocked: responses.RequestsMock) -> Any:
    """The JSON body of the last request."""
    return json.loads(mocked.calls[-1].request.body or b"{}")  # type: ignore[arg-type]


NOT_FOUND_V2 = {"error": {"code": 404, "message": "Not Found"}}


def survey(sid: str, spelling: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    body = {
        "id": sid,
        "name": f"Survey {sid}",
        "type": "link",
        "status": "inProgress",
        "hiddenFields": {"enabled": True, "fieldIds": ["plink", "team"]},
        "singleUse": {"enabled": True, "isEncrypted": True},
        "segment": None,
    }
    return {
        **body,
        **(spelling if spelling is not None else {"workspaceId": WS, "environmentId": WS}),
        **extra,
    }


def test_surveys_page_until_a_short_page(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    first = [survey(f"s{i}") for i in range(100)]
    mocked.get(
        f"{V1}/surveys",
        match=[matchers.query_param_matcher({"limit": "100", "offset": "0"})],
        json={"data": first},
    )
    mocked.get(
        f"{V1}/surveys",
        match=[matchers.query_param_matcher({"limit": "100", "offset": "100"})],
        json={"data": [survey("last"), survey("elsewhere", {"workspaceId": "ws_other"})]},
    )
    found = adapter.surveys()
    assert len(found) == 101 and found[-1].id == "last"
    assert found[0].public_url == "https://survey.example.org/s/s0"


@pytest.mark.parametrize("spelling", [{"environmentId": WS}, {"workspaceId": WS, "environmentId": WS}])
def test_survey_reads_both_spellings(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock, spelling: dict[str, str]
) -> None:
    mocked.get(f"{V1}/surveys/s1", json={"data": survey("s1", spelling)})
    got = adapter.survey("s1")
    assert (got.workspace_id, got.hidden_field_ids, got.single_use, got.type, got.status) == (
        WS,
        ("plink", "team"),
        True,
        "link",
        "inProgress",
    )


def test_survey_ignores_disabled_hidden_fields(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(
        f"{V1}/surveys/s1",
        json={"data": survey("s1", hiddenFields={"enabled": False, "fieldIds": ["x"]}, singleUse=None)},
    )
    got = adapter.survey("s1")
    assert got.hidden_field_ids == () and got.single_use is False


def test_unknown_survey_is_a_404(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    mocked.get(
        f"{V1}/surveys/nope",
        status=404,
        json={"code": "not_found", "message": "Survey not found", "details": {"resource_id": "nope"}},
    )
    with pytest.raises(AdapterError) as err:
        adapter.survey("nope")
    assert err.value.status == 404 and "resource_id: nope" in err.value.message


def test_survey_5xx_then_success(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    mocked.get(
        f"{V1}/surveys/s1", status=500, json={"code": "internal_server_error", "message": "x", "details": {}}
    )
    mocked.get(f"{V1}/surveys/s1", json={"data": survey("s1")})
    assert adapter.survey("s1").id == "s1"


def test_survey_read_timeout(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V1}/surveys/s1", body=requests.exceptions.ReadTimeout())
    with pytest.raises(AdapterError, match="did not answer within 5 s"):
        adapter.survey("s1")


HOOK = {
    "id": "wh1",
    "name": "Personal Links",
    "createdAt": "x",
    "updatedAt": "x",
    "url": "https://pl/hook",
    "source": "user",
    "workspaceId": WS,
    "triggers": ["responseFinished"],
    "surveyIds": ["s1"],
}


ME_5 = {"id": WS, "type": "production", "workspace": {"id": WS, "name": "Main"}, "project": {"id": WS, "name": "Main"}}
ME_4 = {"id": WS, "type": "production", "appSetupCompleted": True, "project": {"id": "prj", "name": "Main"}}


def test_register_webhook_v2(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V1}/me", json=ME_5)
    mocked.post(
        f"{V2}/webhooks",
        status=201,
        json={"data": {**HOOK, "secret": "whsec_abc"}},
        match=[
            matchers.json_params_matcher(
                {
                    "name": "Personal Links",
                    "url": "https://pl/hook",
                    "source": "user",
                    "workspaceId": WS,
                    "triggers": ["responseFinished"],
                    "surveyIds": ["s1"],
                }
            )
        ],
    )
    hook = adapter.register_webhook("https://pl/hook", ["responseFinished"], ["s1"])
    assert (hook.id, hook.secret, hook.survey_ids) == ("wh1", "whsec_abc", ("s1",))


def test_register_webhook_on_4x_says_environment_id(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    """4.x's v2 body schema picks environmentId (apps/web/modules/api/v2/management/webhooks/types/webhooks.ts
    at 4.9.7); /me without ``workspace`` (apps/web/app/api/v1/management/me/route.ts at 4.9.7) says 4.x."""
    mocked.get(f"{V1}/me", json=ME_4)
    mocked.post(f"{V2}/webhooks", status=201, json={"data": {**HOOK, "secret": "whsec_4"}})
    hook = adapter.register_webhook("https://pl/hook", ["responseFinished"])
    assert hook.secret == "whsec_4" and adapter.host_version().line == "4.x"
    assert sent(mocked)["environmentId"] == WS and "workspaceId" not in sent(mocked)
    adapter.register_webhook("https://pl/hook2", ["responseFinished"])
    assert [c.request.method for c in mocked.calls] == ["GET", "POST", "POST"]  # the version is asked once


def test_register_webhook_falls_back_to_v1_where_v2_is_missing(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{V1}/me", json=ME_4)
    mocked.post(f"{V2}/webhooks", status=404, json=NOT_FOUND_V2)
    v1 = {k: v for k, v in HOOK.items() if k != "workspaceId"} | {"environmentId": WS, "secret": "whsec_v1"}
    mocked.post(f"{BASE}/api/v1/webhooks", json={"data": v1})
    hook = adapter.register_webhook("https://pl/hook", ["responseFinished"])
    assert hook.secret == "whsec_v1"
    assert sent(mocked)["environmentId"] == WS
    mocked.get(f"{BASE}/api/v1/webhooks", json={"data": [v1]})
    assert [h.id for h in adapter.webhooks()] == ["wh1"]  # v2 is not asked again once it answered 404
    assert all("/api/v2/" not in c.request.url for c in mocked.calls[3:])


def test_register_webhook_422_quotes_details(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{V1}/me", json=ME_5)
    mocked.post(
        f"{V2}/webhooks",
        status=422,
        json={
            "error": {
                "code": 422,
                "message": "Unprocessable Entity",
                "details": [{"field": "url", "issue": "Invalid url"}],
            }
        },
    )
    with pytest.raises(AdapterError, match="url: Invalid url"):
        adapter.register_webhook("not a url", ["responseFinished"])


def test_register_webhook_asks_me_for_the_workspace(mocked: responses.RequestsMock) -> None:
    adapter = FormbricksAdapter(BASE, "k", session=make_session(backoff_factor=0))
    mocked.get(f"{V1}/me", json={"id": "ws_me", "workspace": {"id": "ws_me", "name": "n"}})
    mocked.post(f"{V2}/webhooks", status=201, json={"data": {**HOOK, "workspaceId": "ws_me", "secret": "s"}})
    adapter.register_webhook("https://pl/hook", ["responseFinished"])
    assert sent(mocked)["workspaceId"] == "ws_me"


def test_webhooks_v2_and_v1(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V2}/webhooks", json={"data": [HOOK], "meta": {"total": 1, "limit": 250, "offset": 0}})
    assert [h.id for h in adapter.webhooks()] == ["wh1"]
    mocked.replace(responses.GET, f"{V2}/webhooks", status=404, json=NOT_FOUND_V2)
    mocked.get(f"{BASE}/api/v1/webhooks", json={"data": [{**HOOK, "id": "old"}]})
    assert [h.id for h in adapter.webhooks()] == ["old"]


def test_remove_webhook_missing_is_fine(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    mocked.delete(f"{V2}/webhooks/gone", status=404, json=NOT_FOUND_V2)
    mocked.delete(f"{BASE}/api/v1/webhooks/gone", status=404, json={"code": "not_found", "message": "x"})
    adapter.remove_webhook("gone")  # gone on both routes: nothing to remove, no error
    assert [call.request.url for call in mocked.calls] == [f"{V2}/webhooks/gone", f"{BASE}/api/v1/webhooks/gone"]


def test_remove_webhook_needs_manage(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    mocked.delete(f"{V2}/webhooks/wh1", status=401, json={"error": {"code": 401, "message": "Unauthorized"}})
    with pytest.raises(AdapterError, match="'manage' permission"):
        adapter.remove_webhook("wh1")


def test_single_use_ids_in_chunks_of_5000(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    url = f"{V1}/surveys/s1/singleUseIds"
    for n in (5000, 2000):
        mocked.get(
            url,
            match=[matchers.query_param_matcher({"limit": str(n)})],
            json={"data": [f"https://survey.example.org/s/s1?suId=x{i}" for i in range(n)]},
        )
    assert len(adapter.single_use_ids("s1", 7000)) == 7000


def test_single_use_off_is_explained(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    mocked.get(
        f"{V1}/surveys/s1/singleUseIds",
        status=400,
        json={"code": "bad_request", "message": "Single use links are not enabled", "details": {}},
    )
    with pytest.raises(AdapterError, match="turn on single-use links"):
        adapter.single_use_ids("s1", 3)


def test_single_use_ids_need_write(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    mocked.get(
        f"{V1}/surveys/s1/singleUseIds", status=401, json={"code": "not_authenticated", "message": "x"}
    )
    with pytest.raises(AdapterError, match="'write' permission"):
        adapter.single_use_ids("s1", 3)


def response(rid: str) -> dict[str, Any]:
    return {
        "id": rid,
        "createdAt": "2026-11-01T10:00:00.000Z",
        "updatedAt": "2026-11-02T10:00:00.000Z",
        "surveyId": "s1",
        "contactId": "c1",
        "finished": True,
        "data": {"plink": "tok"},
        "meta": {"url": "https://survey.example.org/s/s1?plink=tok"},
        "singleUseId": "su1",
    }


def test_responses_without_meta_stop_on_a_short_page(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    base = {
        "surveyId": "s1",
        "sortBy": "updatedAt",
        "order": "desc",
        "limit": "250",
    }
    mocked.get(
        f"{V2}/responses",
        match=[matchers.query_param_matcher({**base, "skip": "0"})],
        json={"data": [response(f"r{i}") for i in range(250)]},
    )
    mocked.get(
        f"{V2}/responses",
        match=[matchers.query_param_matcher({**base, "skip": "250"})],
        json={"data": [response("last")]},
    )
    got = list(adapter.responses("s1", since=since))
    assert len(got) == 251
    last = got[-1]
    assert (last.id, last.contact_id, last.finished, last.single_use_id) == ("last", "c1", True, "su1")
    assert (
        last.meta_url
        and last.data == {"plink": "tok"}
        and last.updated_at == datetime(2026, 11, 2, 10, tzinfo=UTC)
    )


def test_responses_with_meta_page_by_total(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{V2}/responses", json={"data": [], "meta": {"total": 0, "limit": 250, "offset": 0}})
    assert list(adapter.responses("s1")) == []
    assert "startDate" not in str(mocked.calls[0].request.url)


def test_responses_stop_at_the_first_update_before_since(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    """Started long ago and finished after ``since``: listed (a createdAt filter would drop it)."""
    old_start = {**response("late-finish"), "createdAt": "2026-10-01T09:00:00.000Z",
                 "updatedAt": "2026-11-02T10:00:00.000Z"}
    older = {**response("older"), "createdAt": "2026-10-01T09:00:00.000Z", "updatedAt": "2026-10-20T10:00:00.000Z"}
    mocked.get(f"{V2}/responses", json={"data": [old_start, older, response("never-read")]})
    got = [r.id for r in adapter.responses("s1", since=datetime(2026, 11, 1, tzinfo=UTC))]
    assert got == ["late-finish"]
    assert "startDate" not in str(mocked.calls[0].request.url)


def test_delete_response(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    mocked.delete(f"{V1}/responses/r1", json={"data": response("r1")})
    adapter.delete_response("r1")
    mocked.delete(
        f"{V1}/responses/r2", status=404, json={"code": "not_found", "message": "Response not found"}
    )
    with pytest.raises(AdapterError) as err:
        adapter.delete_response("r2")
    assert err.value.status == 404


def test_a_key_of_several_workspaces_learns_the_version_from_v2_me(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    """5.x's /me refuses such keys with 400 (apps/web/app/api/v1/management/me/route.ts at 5.4.0-rc.1); /api/v2/me
    lists workspacePermissions (apps/web/modules/api/v2/me/route.ts at 5.4.0-rc.1)."""
    mocked.get(f"{V1}/me", status=400, json={"code": "bad_request", "message": "scoped to a single workspace"})
    mocked.get(f"{BASE}/api/v2/me", json={"data": {"workspacePermissions": [
        {"workspaceId": WS, "permissions": "write", "workspaceName": "Main"}], "environmentPermissions": []}})
    mocked.get(f"{BASE}/api/v2/health", json={"data": {"main_database": True, "cache_database": True}})
    licence = "Contacts are only enabled for Enterprise Edition, please upgrade."
    mocked.get(f"{V1}/contact-attribute-keys", status=403, json={"code": "forbidden", "message": licence})
    profile = adapter.profile()
    assert (profile.version.line, profile.workspace_id, profile.permission) == ("5.x", WS, "write")
    assert (profile.licensed, profile.healthy) == (False, True)
