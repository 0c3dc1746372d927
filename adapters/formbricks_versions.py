"""What differs between the Formbricks versions the adapter supports, as data, and how the adapter tells them apart.

Every difference names the host's source file and the tag it was read from (``Source``); tests check the
adapter and the fake host against this one table, so a new version is a new entry, not a new if-chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.base import AdapterError
from adapters.http import HostClient


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact about a host version was read: a path in the Formbricks repository at a tag."""

    path: str
    tag: str
    marker: str  # a short string found in that file at that tag, which states the fact

    def __str__(self) -> str:
        return f"{self.path} at {self.tag}"


@dataclass(frozen=True, slots=True)
class HostVersion:
    """One line of Formbricks releases and the spellings its management API takes and gives."""

    line: str  # "4.x" or "5.x"
    tested: str  # the tag the facts were read from
    id_key: str  # the workspace id's key in request bodies (v1 and v2 webhook create)
    me_workspace: bool  # /api/v1/management/me names a ``workspace`` (5.x) or only a project (4.x)
    permissions_key: str  # the list of the key's permissions in /api/v2/me
    permission_id_key: str  # the workspace id's key in each item of that list
    single_use_permission: str  # what singleUseIds needs of the key (a GET checked as read or as write)
    sources: Mapping[str, Source]  # the source of each fact above, by field name
    # PUT of one response (a write key): the data sent is merged into the stored data, so a key can be
    # overwritten, not removed; ``meta`` (its url) is not in the update's schema at all
    response_update_path: str = "api/v1/management/responses/{id}"
    response_update_merges: bool = True

    @property
    def major(self) -> str:
        """``"4"`` or ``"5"``."""
        return self.line.split(".", 1)[0]


RESPONSE_ROUTE = "apps/web/app/api/v1/management/responses/[responseId]/route.ts"
RESPONSE_SERVICE = "apps/web/lib/response/service.ts"

V4 = HostVersion(
    line="4.x",
    tested="4.9.7",
    id_key="environmentId",
    me_workspace=False,
    permissions_key="environmentPermissions",
    permission_id_key="environmentId",
    single_use_permission="read",
    sources={
        "id_key": Source("apps/web/modules/api/v2/management/webhooks/types/webhooks.ts", "4.9.7",
                         "environmentId: true"),
        "me_workspace": Source("apps/web/app/api/v1/management/me/route.ts", "4.9.7",
                               "buildEnvironmentResponse"),
        "permissions_key": Source("apps/web/modules/api/v2/me/route.ts", "4.9.7", "environmentPermissions:"),
        "single_use_permission": Source("apps/web/app/api/v1/management/surveys/[surveyId]/singleUseIds/route.ts",
                                        "4.9.7", 'survey.environmentId, "GET"'),
        "response_update_path": Source(RESPONSE_ROUTE, "4.9.7", 'authentication, "PUT")'),
        "response_update_merges": Source(RESPONSE_SERVICE, "4.9.7", "...responseInput.data,"),
    },
)

V5 = HostVersion(
    line="5.x",
    tested="5.4.0-rc.1",
    # 5.x also takes environmentId as an alias (resolveBodyIdsV2), but workspaceId is its own spelling.
    id_key="workspaceId",
    me_workspace=True,
    permissions_key="workspacePermissions",
    permission_id_key="workspaceId",
    single_use_permission="write",
    sources={
        "id_key": Source("apps/web/modules/api/v2/management/webhooks/types/webhooks.ts", "5.4.0-rc.1",
                         "workspaceId: z.cuid2()"),
        "me_workspace": Source("apps/web/app/api/v1/management/me/route.ts", "5.4.0-rc.1",
                               "buildWorkspaceResponse"),
        "permissions_key": Source("apps/web/modules/api/v2/me/route.ts", "5.4.0-rc.1", "workspacePermissions,"),
        "single_use_permission": Source("apps/web/app/api/v1/management/surveys/[surveyId]/singleUseIds/route.ts",
                                        "5.4.0-rc.1", 'survey.workspaceId, "POST"'),
        "response_update_path": Source(RESPONSE_ROUTE, "5.4.0-rc.1", 'authentication, "PUT")'),
        "response_update_merges": Source(RESPONSE_SERVICE, "5.4.0-rc.1", "...responseInput.data,"),
    },
)

VERSIONS: dict[str, HostVersion] = {"4": V4, "5": V5}


def version_from_me(body: Any) -> HostVersion | None:
    """The version line a ``/api/v1/management/me`` answer shows; None when it is not a key's answer."""
    if isinstance(body, Mapping) and isinstance(body.get("data"), Mapping) and "id" not in body:
        body = body["data"]
    if not isinstance(body, Mapping) or "id" not in body:
        return None
    return next(v for v in VERSIONS.values() if v.me_workspace == isinstance(body.get("workspace"), Mapping))


def version_from_permissions(body: Any) -> HostVersion | None:
    """The version line a ``/api/v2/me`` answer shows (5.x lists workspace permissions, 4.x only environment ones)."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        return None
    for version in sorted(VERSIONS.values(), key=lambda v: v.line, reverse=True):
        if isinstance(data.get(version.permissions_key), list):
            return version
    return None


def permission_from(body: Any, version: HostVersion, workspace_id: str) -> str | None:
    """The key's permission (read, write or manage) on the workspace, from ``/api/v2/me``; None when not listed."""
    data = body.get("data") if isinstance(body, Mapping) else None
    items = data.get(version.permissions_key) if isinstance(data, Mapping) else None
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and item.get(version.permission_id_key) == workspace_id:
            value = item.get("permissions")
            return str(value) if value else None
    return None


def webhook_body(version: HostVersion, workspace_id: str, url: str, triggers: list[str], survey_ids: list[str],
                 name: str | None) -> dict[str, Any]:
    """The create-webhook body in the version's spelling; v1 and v2 take the same keys (all are sent)."""
    return {"name": name, "url": url, "source": "user", version.id_key: workspace_id, "triggers": triggers,
            "surveyIds": survey_ids}


@dataclass(frozen=True, slots=True)
class HostProfile:
    """What the adapter learned about its host once: version line, the key's workspace, permission and licence.

    ``permission`` is None when the host did not say (a key without organisation read access cannot read
    ``/api/v2/me``); ``licensed`` is None when the contacts route answered neither 200 nor the licence 403;
    ``healthy`` is None when the health route is missing.
    """

    version: HostVersion
    workspace_id: str
    workspace_name: str | None
    permission: str | None
    licensed: bool | None
    healthy: bool | None


# -- learning the profile: one request each, tolerant of what an older or locked-down host does not answer --


def health(client: HostClient) -> bool | None:
    """The host's ``/api/v2/health`` (database and cache up); None when the route is missing.

    A host that cannot be reached raises AdapterError (without a status).
    """
    try:
        client.request("GET", "api/v2/health", what="health")
        return True
    except AdapterError as exc:
        if exc.status is None:
            raise
        return None if exc.status == 404 else False


def key_permission(client: HostClient, version: HostVersion, workspace_id: str) -> str | None:
    """The key's permission on the workspace from ``/api/v2/me``; None when the host does not tell this key."""
    try:
        return permission_from(client.get_json("api/v2/me", what="the API key's permissions"), version,
                               workspace_id)
    except AdapterError as exc:
        if exc.status in (401, 403, 404):  # a key without organisation read access may not read /api/v2/me
            return None
        raise


def contacts_licensed(client: HostClient) -> bool | None:
    """The Enterprise Contacts licence, from what the (small) contact attribute keys route answers."""
    try:
        client.request("GET", "api/v1/management/contact-attribute-keys", what="contacts licence")
        return True
    except AdapterError as exc:
        if exc.status == 403:
            return False
        if exc.status in (401, 404):
            return None
        raise
