"""FormbricksAdapter: configuration, /me, contacts, segments and members (host mocked with responses)."""

from __future__ import annotations

from typing import Any

import pytest
import responses

from adapters.base import AdapterError, ConfigurationError, ContactSource, SurveyHost
from adapters.formbricks import FormbricksAdapter
from adapters.registry import contact_source_class, survey_host_class
from tests.adapters.adapter_helpers import BASE, KEY, PRO, WS

V1 = f"{BASE}/api/v1/management"
LICENCE = {
    "code": "forbidden",
    "message": "Contacts are only enabled for Enterprise Edition, please upgrade.",
    "details": {},
}
STAMP = "2026-11-01T10:00:00.000Z"


def key_row(key: str, ws: dict[str, str]) -> dict[str, Any]:
    return {
        "id": f"k_{key}",
        "createdAt": STAMP,
        "updatedAt": STAMP,
        "isUnique": key in ("userId", "email"),
        "key": key,
        "name": key,
        "description": None,
        "type": "default",
        "dataType": "string",
        **ws,
    }


def attr_row(contact: str, key: str, value: str) -> dict[str, Any]:
    return {
        "id": f"a_{contact}_{key}",
        "createdAt": STAMP,
        "updatedAt": STAMP,
        "attributeKeyId": f"k_{key}",
        "contactId": contact,
        "value": value,
        "valueNumber": None,
        "valueDate": None,
    }


def seed_contacts(mocked: responses.RequestsMock, spelling: str = "workspaceId") -> None:
    ws = {spelling: WS}
    mocked.get(
        f"{V1}/contacts",
        json={
            "data": [
                {"id": "c1", "createdAt": STAMP, "updatedAt": STAMP, **ws},
                {"id": "c2", "createdAt": STAMP, "updatedAt": STAMP, **ws},
                {"id": "c_other", "createdAt": STAMP, "updatedAt": STAMP, spelling: "ws_other"},
            ]
        },
    )
    mocked.get(
        f"{V1}/contact-attributes",
        json={
            "data": [
                attr_row("c1", "userId", "u-1"),
                attr_row("c1", "email", "ada@example.org"),
                attr_row("c1", "firstName", "Ada"),
                attr_row("c1", "lastName", "Lovelace"),
                attr_row("c1", "plan", "pro"),
                attr_row("c2", "email", "bob@example.org"),
                {**attr_row("c2", "age", ""), "valueNumber": 41},
            ]
        },
    )
    mocked.get(
        f"{V1}/contact-attribute-keys",
        json={
            "data": [
                key_row(k, ws)
                for k in ("userId", "email", "firstName", "lastName", "language", "plan", "age")
            ]
        },
    )


def test_adapter_satisfies_both_protocols_and_is_registered(adapter: FormbricksAdapter) -> None:
    assert isinstance(adapter, ContactSource) and isinstance(adapter, SurveyHost)
    assert contact_source_class("formbricks") is FormbricksAdapter is survey_host_class("formbricks")


def test_from_config_reads_settings_and_defaults_public_url() -> None:
    a = FormbricksAdapter.from_config(
        {"FORMBRICKS_URL": BASE + "/", "FORMBRICKS_API_KEY": KEY, "FORMBRICKS_WORKSPACE_ID": WS}
    )
    assert (a.api_url, a.public_url, a.workspace_id) == (BASE, BASE, WS)
    assert KEY not in repr(a)


def test_from_config_names_missing_settings() -> None:
    with pytest.raises(ConfigurationError) as err:
        FormbricksAdapter.from_config({"FORMBRICKS_URL": BASE})
    assert "PERSONAL_LINKS_FORMBRICKS_API_KEY" in err.value.message


@pytest.mark.parametrize(
    "body",
    [
        {
            "id": WS,
            "type": "production",
            "createdAt": STAMP,
            "updatedAt": STAMP,
            "appSetupCompleted": True,
            "workspace": {"id": WS, "name": "Main"},
            "project": {"id": "p1", "name": "Main"},
        },
        {
            "id": WS,
            "type": "production",
            "createdAt": STAMP,
            "updatedAt": STAMP,
            "appSetupCompleted": True,
            "project": {"id": "p1", "name": "Main"},
        },  # 4.x: the environment
    ],
)
def test_whoami_reads_the_unwrapped_me(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock, body: dict[str, Any]
) -> None:
    mocked.get(f"{V1}/me", json=body)
    me = adapter.whoami()
    assert (me.id, me.name) == (WS, "Main")


def test_whoami_401_names_the_permission(adapter: FormbricksAdapter, mocked: responses.RequestsMock) -> None:
    mocked.get(
        f"{V1}/me",
        status=401,
        json={
            "code": "not_authenticated",
            "message": "Not authenticated",
            "details": {"x-Api-Key": "Header not provided or API Key invalid"},
        },
    )
    with pytest.raises(AdapterError) as err:
        adapter.whoami()
    assert err.value.status == 401 and "'read' permission" in err.value.message
    assert KEY not in err.value.message


@pytest.mark.parametrize("spelling", ["workspaceId", "environmentId"])
def test_contacts_join_attributes_by_key_id(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock, spelling: str
) -> None:
    seed_contacts(mocked, spelling)
    contacts = {c.host_id: c for c in adapter.contacts()}
    assert set(contacts) == {"c1", "c2"}  # c_other is in another workspace
    ada = contacts["c1"]
    assert (ada.custom_id, ada.email, ada.first_name, ada.last_name) == (
        "u-1",
        "ada@example.org",
        "Ada",
        "Lovelace",
    )
    assert ada.attributes == {"plan": "pro"}
    assert contacts["c2"].attributes == {"age": "41"} and contacts["c2"].custom_id is None


def test_contacts_without_licence_suggest_csv(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{V1}/contacts", status=403, json=LICENCE)
    with pytest.raises(AdapterError) as err:
        list(adapter.contacts())
    assert err.value.status == 403 and "CSV" in err.value.message and "licence" in err.value.message


def _survey(sid: str, segment: dict[str, Any] | None, status: str = "inProgress") -> dict[str, Any]:
    return {
        "id": sid,
        "name": sid,
        "type": "link",
        "status": status,
        "workspaceId": WS,
        "environmentId": WS,
        "hiddenFields": {"enabled": False, "fieldIds": []},
        "singleUse": {"enabled": False},
        "segment": segment,
    }


PUBLIC = {
    "id": "sg1",
    "title": "Pro",
    "description": None,
    "isPrivate": False,
    "filters": PRO,
    "workspaceId": WS,
}
PRIVATE = {"id": "sg2", "title": "private", "isPrivate": True, "filters": [], "workspaceId": WS}


def links_url(survey: str, segment: str) -> str:
    return f"{BASE}/api/v2/management/surveys/{survey}/contact-links/segments/{segment}"


def test_segment_members_page_by_total_not_by_short_pages(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    url = links_url("s1", "sg1")

    def page(skip: int, ids: range) -> None:
        mocked.get(
            url,
            match=[responses.matchers.query_param_matcher({"limit": "250", "skip": str(skip)})],
            json={
                "data": [
                    {"contactId": f"c{i}", "surveyUrl": f"{BASE}/c/t{i}", "expiresAt": None} for i in ids
                ],
                "meta": {"total": 600, "limit": 250, "offset": skip},
            },
        )

    page(0, range(0, 240))  # ten dropped: short, but not the end
    page(250, range(250, 500))
    page(500, range(500, 600))
    members = adapter.segment_members("s1", "sg1")
    assert len(members) == 590 and members[-1] == "c599"


def test_segments_come_from_surveys_public_only(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(
        f"{V1}/surveys",
        json={
            "data": [
                _survey("s1", PUBLIC),
                _survey("s2", PUBLIC),
                _survey("s3", PRIVATE),
                _survey("s4", None),
            ]
        },
    )
    mocked.get(
        links_url("s1", "sg1"),
        json={
            "data": [{"contactId": "c1", "surveyUrl": "u", "expiresAt": None}],
            "meta": {"total": 1, "limit": 250, "offset": 0},
        },
    )
    segments = adapter.segments()
    assert [(s.id, s.title, s.member_ids) for s in segments] == [("sg1", "Pro", ("c1",))]
    assert segments[0].filters == PRO
    assert {s.id for s in adapter.segments(include_private=True, resolve=False)} == {"sg1", "sg2"}


def test_segments_fall_back_to_local_evaluation(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{V1}/surveys", json={"data": [_survey("s1", PUBLIC, status="paused")]})
    seed_contacts(mocked)
    assert adapter.segments()[0].member_ids == ("c1",)


def test_contact_links_403_for_survey_not_in_progress(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(links_url("s1", "sg1"), status=403, json={"error": {"code": 403, "message": "Forbidden"}})
    with pytest.raises(AdapterError) as err:
        adapter.segment_members("s1", "sg1")
    assert err.value.status == 403 and "forbids" in err.value.message


def test_contact_links_400_quotes_v2_details(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(
        links_url("s1", "sg1"),
        status=400,
        json={
            "error": {
                "code": 400,
                "message": "Bad Request",
                "details": [{"field": "segmentId", "issue": "Environment mismatch"}],
            }
        },
    )
    with pytest.raises(AdapterError, match="segmentId: Environment mismatch"):
        adapter.segment_members("s1", "sg1")


def test_segment_members_stop_when_total_never_comes_true(
    adapter: FormbricksAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(links_url("s1", "sg1"), json={"data": [], "meta": {"total": 10**9, "limit": 250, "offset": 0}})
    assert adapter.segment_members("s1", "sg1") == []
    assert len(mocked.calls) == 10
