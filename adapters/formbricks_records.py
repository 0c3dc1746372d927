"""Formbricks JSON to the adapter records: every ``from_api`` lives here, both 4.x and 5.x spellings.

5.x says ``workspaceId``, 4.x ``environmentId``; 5.x v1 answers carry both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.base import AdapterError, Contact, HostResponse, Segment, Survey, WebhookRegistration

# Attribute keys that are Contact fields; the rest stay attributes.
CONTACT_FIELDS = {"userId": "custom_id", "email": "email", "firstName": "first_name", "lastName": "last_name"}
_NONE = (None,) * len(CONTACT_FIELDS)


def workspace_of(obj: Mapping[str, Any]) -> str | None:
    """The workspace id of a host object, whichever spelling it uses."""
    value = obj.get("workspaceId") or obj.get("environmentId")
    return str(value) if value else None


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp (``Z`` allowed) as an aware datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _require(obj: Any, key: str, what: str) -> Any:
    if not isinstance(obj, Mapping) or obj.get(key) in (None, ""):
        raise AdapterError(f"{what}: item without '{key}': {str(obj)[:200]}", body=obj)
    return obj[key]


@dataclass(frozen=True, slots=True)
class Workspace:
    """The workspace (5.x) or environment (4.x) an API key's ``/me`` names."""

    id: str
    name: str | None = None
    type: str | None = None

    @classmethod
    def from_api(cls, body: Any) -> Workspace:
        """Build from ``/api/v1/management/me``: unwrapped on 5.x, tolerated wrapped in ``data``."""
        if isinstance(body, Mapping) and isinstance(body.get("data"), Mapping) and "id" not in body:
            body = body["data"]
        ws = body.get("workspace") if isinstance(body, Mapping) else None
        project = body.get("project") if isinstance(body, Mapping) else None
        ident = _require(body, "id", "GET /api/v1/management/me")
        name = (ws or {}).get("name") or (project or {}).get("name")
        return cls(id=str((ws or {}).get("id") or ident), name=name, type=body.get("type"))


def contacts_from_api(
    contacts: Iterable[Mapping[str, Any]],
    attributes: Iterable[Mapping[str, Any]],
    keys: Iterable[Mapping[str, Any]],
    workspace_id: str | None = None,
) -> list[Contact]:
    """Join contacts, attribute values and attribute keys (by ``attributeKeyId``) into Contacts."""
    key_names = {str(k["id"]): str(k["key"]) for k in keys if k.get("id") and k.get("key")}
    values: dict[str, dict[str, str]] = {}
    for row in attributes:  # hundreds of thousands of rows on a big workspace: kept lean
        key_id = row.get("attributeKeyId")
        key = key_names.get(key_id if type(key_id) is str else str(key_id))
        contact_id = row.get("contactId")
        if key is None or not contact_id:
            continue
        value = row.get("value")
        if type(value) is not str or not value:  # the common case is a string; the others are looked at here
            if value is None or value == "":
                value = row.get("valueNumber") if row.get("valueNumber") is not None else row.get("valueDate")
                if value is None:
                    continue
            value = value if isinstance(value, str) else str(value)
        if type(contact_id) is not str:
            contact_id = str(contact_id)
        found = values.get(contact_id)
        if found is None:
            found = values[contact_id] = {}
        found[key] = value
    result = []
    for item in contacts:
        contact_id = item.get("id") if type(item) is dict else None
        if type(contact_id) is not str or not contact_id:
            contact_id = str(_require(item, "id", "GET /api/v1/management/contacts"))
        if workspace_id:
            workspace = item.get("workspaceId") or item.get("environmentId")  # as workspace_of reads it
            if workspace and str(workspace) != workspace_id:
                continue
        attrs = values.pop(contact_id, None) or {}  # each contact's values handed over, not copied: memory for one
        # attrs.pop(key, None) for each key of CONTACT_FIELDS, in its order
        custom_id, email, first_name, last_name = map(attrs.pop, CONTACT_FIELDS, _NONE)
        result.append(Contact(contact_id, custom_id, email, first_name, last_name, attrs))
    return result


_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,3}")


def survey_from_api(obj: Mapping[str, Any], public_url: str) -> Survey:
    """A Survey from a v1 survey object; hidden fields only when not disabled."""
    survey_id = str(_require(obj, "id", "survey"))
    hidden = obj.get("hiddenFields") or {}
    hidden_ids: tuple[str, ...] = ()
    if isinstance(hidden, Mapping) and hidden.get("enabled") is not False:
        hidden_ids = tuple(str(f) for f in hidden.get("fieldIds") or ())
    single_use = obj.get("singleUse") or {}
    return Survey(
        id=survey_id,
        name=str(obj.get("name") or survey_id),
        public_url=f"{public_url.rstrip('/')}/s/{survey_id}",
        type=str(obj.get("type") or "link"),
        status=str(obj.get("status") or "draft"),
        hidden_field_ids=hidden_ids,
        single_use=bool(isinstance(single_use, Mapping) and single_use.get("enabled")),
        workspace_id=workspace_of(obj),
        language=default_language(obj),
    )


def default_language(obj: Mapping[str, Any]) -> str | None:
    """The code of a multi-language survey's default language (``languages[].default``), else None."""
    for entry in obj.get("languages") or ():
        if isinstance(entry, Mapping) and entry.get("default") is True:
            language = entry.get("language")
            code = language.get("code") if isinstance(language, Mapping) else None
            return code if isinstance(code, str) and _LANGUAGE_CODE.fullmatch(code) else None
    return None


def segment_from_api(obj: Mapping[str, Any], member_ids: Iterable[str] = ()) -> Segment:
    """A Segment from a survey's ``segment`` member."""
    return Segment(
        id=str(_require(obj, "id", "segment")),
        title=str(obj.get("title") or obj["id"]),
        description=obj.get("description"),
        is_private=bool(obj.get("isPrivate")),
        member_ids=tuple(member_ids),
        filters=obj.get("filters") or [],
    )


def webhook_from_api(obj: Mapping[str, Any]) -> WebhookRegistration:
    """A WebhookRegistration from a v1 or v2 webhook object (``secret`` only right after creation)."""
    return WebhookRegistration(
        id=str(_require(obj, "id", "webhook")),
        url=str(obj.get("url") or ""),
        triggers=tuple(obj.get("triggers") or ()),
        survey_ids=tuple(obj.get("surveyIds") or ()),
        secret=obj.get("secret") or None,
    )


def response_from_api(obj: Mapping[str, Any]) -> HostResponse:
    """A HostResponse from a v2 (flat ``contactId``) or v1 (``contact`` object) response."""
    contact_id = obj.get("contactId")
    if contact_id is None and isinstance(obj.get("contact"), Mapping):
        contact_id = obj["contact"].get("id")
    meta: Mapping[str, Any] = obj["meta"] if isinstance(obj.get("meta"), Mapping) else {}
    data: Mapping[str, Any] = obj["data"] if isinstance(obj.get("data"), Mapping) else {}
    return HostResponse(
        id=str(_require(obj, "id", "response")),
        survey_id=str(obj.get("surveyId") or ""),
        finished=bool(obj.get("finished")),
        data=data,
        contact_id=str(contact_id) if contact_id else None,
        meta_url=meta.get("url"),
        single_use_id=obj.get("singleUseId"),
        created_at=parse_time(obj.get("createdAt")),
        updated_at=parse_time(obj.get("updatedAt")),
    )
