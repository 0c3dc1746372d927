"""Formbricks as contact source and survey host, through its management API (v1 and v2, 4.x and 5.x).

Contacts, attributes and contact links need the Enterprise "Contacts" licence; surveys, webhooks, single-use
ids and responses do not. The management API has no segment list: segments are collected from surveys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import requests

from adapters.base import (
    AdapterError,
    ConfigurationError,
    Contact,
    HostResponse,
    Segment,
    Survey,
    WebhookRegistration,
)
from adapters.formbricks_paging import evaluate, segments_on_surveys, v2_pages
from adapters.formbricks_records import (
    Workspace,
    contacts_from_api,
    response_from_api,
    segment_from_api,
    survey_from_api,
    webhook_from_api,
    workspace_of,
)
from adapters.formbricks_versions import (
    VERSIONS,
    HostProfile,
    HostVersion,
    contacts_licensed,
    health,
    key_permission,
    version_from_me,
    version_from_permissions,
    webhook_body,
)
from adapters.host_errors import unwrap
from adapters.http import HostClient, TokenBucket, make_session

log = logging.getLogger(__name__)

SINGLE_USE_CHUNK = 5000  # v1 singleUseIds maximum
V1_SURVEY_PAGE = 100


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FormbricksAdapter:
    """A Formbricks instance reached with one API key; satisfies ContactSource and SurveyHost."""

    name = "formbricks"

    def __init__(
        self,
        api_url: str,
        api_key: str,
        workspace_id: str | None = None,
        public_url: str | None = None,
        *,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = _utc_now,
        limiter: TokenBucket | None = None,
    ) -> None:
        if not api_key:
            raise ConfigurationError("Formbricks API key is empty; set PERSONAL_LINKS_FORMBRICKS_API_KEY")
        if session is None:
            session = make_session(limiter=limiter or TokenBucket())
        self.client = HostClient(
            api_url,
            {"x-api-key": api_key, "accept": "application/json"},
            session=session,
            timeout=timeout,
            host_name="Formbricks",
        )
        self.api_url = self.client.base_url.rstrip("/")
        self.public_url = (public_url or api_url).rstrip("/")
        self.workspace_id = workspace_id or None
        self._clock = clock
        self.version: HostVersion | None = None  # learned from the first answer that shows it, then kept
        self._profile: HostProfile | None = None
        self._v2_webhooks = True  # False once the host answered 404 on them (older than the v2 webhook API)

    def __repr__(self) -> str:
        return f"FormbricksAdapter({self.api_url!r}, workspace_id={self.workspace_id!r})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **kwargs: Any) -> FormbricksAdapter:
        """Build from ``FORMBRICKS_URL``, ``_API_KEY`` and the optional ``_WORKSPACE_ID``, ``_PUBLIC_URL``."""
        missing = [k for k in ("FORMBRICKS_URL", "FORMBRICKS_API_KEY") if not config.get(k)]
        if missing:
            names = ", ".join(f"PERSONAL_LINKS_{k}" for k in missing)
            raise ConfigurationError(f"Formbricks adapter needs the setting(s) {names}")
        if "FORMBRICKS_TIMEOUT" in config and "timeout" not in kwargs:
            kwargs["timeout"] = float(config["FORMBRICKS_TIMEOUT"])
        return cls(
            str(config["FORMBRICKS_URL"]),
            str(config["FORMBRICKS_API_KEY"]),
            config.get("FORMBRICKS_WORKSPACE_ID") or None,
            config.get("FORMBRICKS_PUBLIC_URL") or None,
            **kwargs,
        )

    # -- who am I ---------------------------------------------------------------------------------------

    def whoami(self) -> Workspace:
        """The workspace (5.x) or environment (4.x) the key belongs to, from ``/api/v1/management/me``.

        The answer's shape also tells the version line, which is kept.
        """
        body = self.client.get_json("api/v1/management/me", what="who am I")
        self.version = self.version or version_from_me(body)
        return Workspace.from_api(body)

    def host_version(self) -> HostVersion:
        """The host's version line, learned once (from ``/me``, else from ``/api/v2/me``) and kept."""
        if self.version is None:
            try:
                self.whoami()
            except AdapterError as exc:
                if exc.status != 400:  # 5.x answers 400 for keys of several workspaces: ask /api/v2/me
                    raise
            if self.version is None:
                body = self.client.get_json("api/v2/me", what="the API key's permissions")
                self.version = version_from_permissions(body)
            if self.version is None:
                raise AdapterError("cannot tell the Formbricks version from /api/v1/management/me or /api/v2/me; "
                                   "check that the API URL points at Formbricks 4.6 or newer")
        return self.version

    def profile(self, *, refresh: bool = False) -> HostProfile:
        """Version, workspace, the key's permission, the Contacts licence and health, learned once and kept
        (``refresh`` asks again, as the host check does: a licence or a key's permission can change)."""
        if self._profile is None or refresh:
            self._profile = self._learn()
        return self._profile

    def _learn(self) -> HostProfile:
        healthy = health(self.client)  # first: an unreachable host fails here with what to check
        try:
            workspace = self.whoami()
        except AdapterError as exc:  # 5.x: a key of several workspaces; fine when the workspace is configured
            if exc.status != 400 or self.workspace_id is None:
                raise
            workspace = Workspace(id=self.workspace_id)
        version = self.host_version()
        workspace_id = self.workspace_id or workspace.id
        return HostProfile(version, workspace_id, workspace.name, key_permission(self.client, version, workspace_id),
                           contacts_licensed(self.client), healthy)

    def _workspace(self) -> str:
        if self.workspace_id is None:
            self.workspace_id = self.whoami().id
        return self.workspace_id

    def _v2_pages(self, path: str, params: Mapping[str, Any], what: str) -> Iterator[dict[str, Any]]:
        return v2_pages(self.client, path, params, what)

    def _list(self, path: str, what: str, **kw: Any) -> list[Any]:
        return unwrap(self.client.get_json(path, what=what, **kw), what=what, expect=list)  # type: ignore[no-any-return]

    # -- contacts and segments --------------------------------------------------------------------------

    def contacts(self) -> Iterator[Contact]:
        """Every contact of the workspace with its attributes (needs the Contacts licence)."""
        # Both listings come whole (no paging): their bodies are read as they arrive, attribute values first.
        contacts = self.client.get_items("api/v1/management/contacts", what="list contacts")
        attributes = self.client.get_items("api/v1/management/contact-attributes", what="list contact attributes")
        keys = self._list("api/v1/management/contact-attribute-keys", "list contact attribute keys")
        yield from contacts_from_api(contacts, attributes, keys, self.workspace_id)

    def segment_members(self, survey_id: str, segment_id: str) -> list[str]:
        """Contact ids of a segment, resolved by the host through a link survey that is in progress."""
        path = f"api/v2/management/surveys/{survey_id}/contact-links/segments/{segment_id}"
        what = f"resolve segment {segment_id} through survey {survey_id}"
        ids = [str(item["contactId"]) for item in self._v2_pages(path, {}, what) if item.get("contactId")]
        return list(dict.fromkeys(ids))

    def segments(self, include_private: bool = False, *, resolve: bool = True) -> list[Segment]:
        """Segments found on surveys (public only unless asked), with members when ``resolve``.

        Members come from the host when a link survey in progress carries the segment, else from evaluating
        the filters locally over ``contacts()``.
        """
        found = segments_on_surveys(self._raw_surveys(), include_private)
        result = []
        local_contacts: list[Contact] | None = None
        for seg_id, (seg, carriers) in found.items():
            if not resolve:
                result.append(segment_from_api(seg))
                continue
            live = [s for s in carriers if s.get("type") == "link" and s.get("status") == "inProgress"]
            if live:
                members = self.segment_members(str(live[0]["id"]), seg_id)
            else:
                if local_contacts is None:
                    local_contacts = list(self.contacts())
                members = evaluate(seg, local_contacts, self._clock())
            result.append(segment_from_api(seg, members))
        return result

    # -- surveys ------------------------------------------------------------------------------------------

    def _raw_surveys(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            params = {"limit": V1_SURVEY_PAGE, "offset": offset}
            page = self._list("api/v1/management/surveys", "list surveys", params=params)
            items.extend(p for p in page if isinstance(p, dict))
            if len(page) < V1_SURVEY_PAGE:
                break
            offset += V1_SURVEY_PAGE
        if self.workspace_id:
            items = [s for s in items if workspace_of(s) in (None, self.workspace_id)]
        return items

    def surveys(self) -> list[Survey]:
        """The workspace's surveys (all permitted ones when no workspace is configured)."""
        return [survey_from_api(s, self.public_url) for s in self._raw_surveys()]

    def survey(self, survey_id: str) -> Survey:
        """One survey; AdapterError with status 404 when unknown."""
        what = f"get survey {survey_id}"
        obj = unwrap(self.client.get_json(f"api/v1/management/surveys/{survey_id}", what=what), what=what,
                     expect=dict)
        return survey_from_api(obj, self.public_url)

    # -- webhooks -------------------------------------------------------------------------------------------

    def register_webhook(
        self,
        url: str,
        triggers: Sequence[str],
        survey_ids: Sequence[str] = (),
        *,
        name: str = "Personal Links",
    ) -> WebhookRegistration:
        """Create a webhook (v2; v1 on hosts without it) in the version's id spelling; the result has the secret."""
        workspace = self._workspace()
        body = webhook_body(self.host_version(), workspace, url, list(triggers), list(survey_ids), name)
        if self._v2_webhooks:
            try:
                answer = self.client.send_json("POST", "api/v2/management/webhooks", body, ok=(200, 201),
                                               what="create webhook")
                return webhook_from_api(unwrap(answer, what="create webhook", expect=dict))
            except AdapterError as exc:
                if exc.status != 404:
                    raise
                self._no_v2_webhooks()
        answer = self.client.send_json("POST", "api/v1/webhooks", body, what="create webhook (v1)")
        return webhook_from_api(unwrap(answer, what="create webhook", expect=dict))

    def _no_v2_webhooks(self) -> None:
        log.info("Formbricks has no v2 webhooks endpoint; using v1 from now on")
        self._v2_webhooks = False

    def webhooks(self) -> list[WebhookRegistration]:
        """The host's webhooks, without secrets."""
        items: list[Any] = []
        if self._v2_webhooks:
            try:
                items = list(self._v2_pages("api/v2/management/webhooks", {}, "list webhooks"))
            except AdapterError as exc:
                if exc.status != 404:
                    raise
                self._no_v2_webhooks()
        if not self._v2_webhooks:
            items = self._list("api/v1/webhooks", "list webhooks (v1)")
        return [webhook_from_api(i) for i in items if isinstance(i, dict)]

    def remove_webhook(self, webhook_id: str) -> None:
        """Delete a webhook; one that does not exist is not an error."""
        paths = [f"api/v1/webhooks/{webhook_id}"]
        if self._v2_webhooks:
            paths.insert(0, f"api/v2/management/webhooks/{webhook_id}")
        for path in paths:
            try:
                self.client.request("DELETE", path, ok=(200, 204), what=f"delete webhook {webhook_id}")
                return
            except AdapterError as exc:
                if exc.status != 404:
                    raise
        log.info("webhook %s was already gone", webhook_id)

    # -- single-use ids and responses -------------------------------------------------------------------

    def single_use_ids(self, survey_id: str, count: int) -> list[str]:
        """``count`` single-use survey URLs (needs a key with write permission)."""
        path = f"api/v1/management/surveys/{survey_id}/singleUseIds"
        urls: list[str] = []
        need = (self.version or VERSIONS["5"]).single_use_permission  # 4.x checks read, 5.x write
        while len(urls) < count:
            limit = min(SINGLE_USE_CHUNK, count - len(urls))
            try:
                body = self.client.get_json(path, params={"limit": limit}, what="get single-use ids",
                                            permission=need)
            except AdapterError as exc:
                if exc.status == 400:
                    raise AdapterError(
                        f"survey {survey_id} gives no single-use ids: it is not a link survey or single-use "
                        f"links are off; turn on single-use links in its settings. ({exc.message})",
                        status=400, body=exc.body,
                    ) from exc
                raise
            urls.extend(str(u) for u in unwrap(body, what="get single-use ids", expect=list))
        return urls

    def responses(self, survey_id: str, since: datetime | None = None) -> Iterator[HostResponse]:
        """The survey's responses, newest update first, down to those updated at ``since`` when given.

        Not the host's ``startDate``: it filters on ``createdAt``, which would miss a response started before
        ``since`` and finished after it. Sorted by ``updatedAt`` descending, paging stops at the first older one.
        """
        params: dict[str, Any] = {"surveyId": survey_id, "sortBy": "updatedAt", "order": "desc"}
        for item in self._v2_pages("api/v2/management/responses", params, f"list responses of survey {survey_id}"):
            response = response_from_api(item)
            if since is not None and response.updated_at is not None and response.updated_at < since:
                return
            yield response

    def response_survey_id(self, response_id: str) -> str | None:
        """The survey of one response (``GET /api/v1/management/responses/{id}``); AdapterError 404 when unknown."""
        what = f"get response {response_id}"
        body = unwrap(self.client.get_json(f"api/v1/management/responses/{response_id}", what=what), what=what,
                      expect=dict)
        survey_id = body.get("surveyId")
        return str(survey_id) if survey_id else None

    def update_response_data(self, response_id: str, data: Mapping[str, Any]) -> None:
        """Overwrite keys of one response's data (needs write permission): the host merges ``data`` into the
        stored data, so a key can be given a new value but not removed; its ``meta`` cannot be changed at all."""
        path = (self.version or VERSIONS["5"]).response_update_path.format(id=response_id)
        self.client.request("PUT", path, json={"data": dict(data)}, what=f"update response {response_id}",
                            permission="write")

    def delete_response(self, response_id: str) -> None:
        """Delete one response (needs manage permission)."""
        self.client.request("DELETE", f"api/v1/management/responses/{response_id}",
                            what=f"delete response {response_id}")
