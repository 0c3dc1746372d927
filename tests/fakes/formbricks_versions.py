"""The fake host's description of how Formbricks 4.x and 5.x differ: one entry per version, read from the host's source.

Written apart from the adapter's table (``adapters/formbricks_versions.py``) on purpose: the fake says what the
host does, the adapter what it sends; tests compare the two and check each fact's marker in the host's source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.formbricks_versions import Source

V2_WEBHOOKS = "apps/web/modules/api/v2/management/webhooks/types/webhooks.ts"
V1_WEBHOOKS = "apps/web/app/api/v1/webhooks/types/webhooks.ts"
ME = "apps/web/app/api/v1/management/me/route.ts"
V2_ME = "apps/web/modules/api/v2/me/route.ts"
SINGLE_USE = "apps/web/app/api/v1/management/surveys/[surveyId]/singleUseIds/route.ts"
V2_RESOLVER = "apps/web/modules/api/v2/management/lib/workspace-resolver.ts"
WEBHOOK_MODEL = "packages/database/zod/webhooks.ts"
RESPONSE_ROUTE = "apps/web/app/api/v1/management/responses/[responseId]/route.ts"
RESPONSE_SERVICE = "apps/web/lib/response/service.ts"
RESPONSE_TYPES = "packages/types/responses.ts"


@dataclass(frozen=True, slots=True)
class FakeVersion:
    """How one Formbricks version answers, as far as the sidecar can tell."""

    tag: str
    object_id_keys: tuple[str, ...]  # the workspace id's spellings on objects it returns
    v2_webhook_id_keys: tuple[str, ...]  # id keys the v2 webhook create accepts (first: its own)
    v1_webhook_id_keys: tuple[str, ...]  # id keys the v1 webhook create accepts
    me_workspace: bool  # /api/v1/management/me carries ``workspace: {id, name}``
    permission_lists: tuple[str, ...]  # the lists of permissions /api/v2/me gives
    single_use_permission: str  # singleUseIds checks the key for read (a GET) or write
    sources: Mapping[str, Source]  # the source of each field above
    # PUT /api/v1/management/responses/{id} (write): ``data`` merged into the stored data, ``meta`` not updatable,
    # and the update is sent on as responseUpdated (and responseFinished again when the response is finished)
    response_update_merges: bool = True
    response_update_takes: tuple[str, ...] = ("finished", "endingId", "data", "variables", "ttc", "language")


V4 = FakeVersion(
    tag="4.9.7",
    object_id_keys=("environmentId",),
    v2_webhook_id_keys=("environmentId",),
    v1_webhook_id_keys=("environmentId",),
    me_workspace=False,
    permission_lists=("environmentPermissions",),
    single_use_permission="read",
    sources={
        "object_id_keys": Source(WEBHOOK_MODEL, "4.9.7", "The ID of the environment"),
        "v2_webhook_id_keys": Source(V2_WEBHOOKS, "4.9.7", "environmentId: true"),
        "v1_webhook_id_keys": Source(V1_WEBHOOKS, "4.9.7", "environmentId: true"),
        "me_workspace": Source(ME, "4.9.7", "buildEnvironmentResponse"),
        "permission_lists": Source(V2_ME, "4.9.7", "environmentPermissions: authentication.environmentPermissions"),
        "single_use_permission": Source(SINGLE_USE, "4.9.7", 'survey.environmentId, "GET"'),
        "response_update_merges": Source(RESPONSE_SERVICE, "4.9.7", "...currentResponse.data,"),
        "response_update_takes": Source(RESPONSE_TYPES, "4.9.7", "data: ZResponseData.optional(),"),
        "response_update_path": Source(RESPONSE_ROUTE, "4.9.7", 'authentication, "PUT")'),
        "response_update_echo": Source(RESPONSE_ROUTE, "4.9.7", "if (updated.finished) {"),
    },
)

V5 = FakeVersion(
    tag="5.4.0-rc.1",
    object_id_keys=("workspaceId", "environmentId"),
    v2_webhook_id_keys=("workspaceId", "environmentId"),
    v1_webhook_id_keys=("workspaceId", "environmentId"),
    me_workspace=True,
    permission_lists=("workspacePermissions", "environmentPermissions"),
    single_use_permission="write",
    sources={
        "object_id_keys": Source("apps/web/app/api/v1/webhooks/route.ts", "5.4.0-rc.1", "addLegacyEnvironmentIdToList"),
        "v2_webhook_id_keys": Source(V2_RESOLVER, "5.4.0-rc.1", "body.workspaceId ?? body.environmentId"),
        "v1_webhook_id_keys": Source("apps/web/app/api/v1/webhooks/route.ts", "5.4.0-rc.1",
                                     "Accept workspaceId as alternative to environmentId"),
        "me_workspace": Source(ME, "5.4.0-rc.1", "buildWorkspaceResponse"),
        "permission_lists": Source(V2_ME, "5.4.0-rc.1", "const environmentPermissions"),
        "single_use_permission": Source(SINGLE_USE, "5.4.0-rc.1", 'survey.workspaceId, "POST"'),
        # the response update as current main has it (read there, not only at the release candidate)
        "response_update_merges": Source(RESPONSE_SERVICE, "main", "...currentResponse.data,"),
        "response_update_takes": Source(RESPONSE_TYPES, "main", "data: ZResponseData.optional(),"),
        "response_update_path": Source(RESPONSE_ROUTE, "main", 'authentication, "PUT")'),
        "response_update_echo": Source(RESPONSE_ROUTE, "main", "if (updated.finished) {"),
    },
)

FAKE_VERSIONS: dict[str, FakeVersion] = {"4": V4, "5": V5}
