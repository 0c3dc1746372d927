"""The mutable in-memory state behind the fake Formbricks server; tests seed it with ``add_*``."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_KEYS = ("userId", "email", "firstName", "lastName", "language")
STAMP = "2026-11-01T10:00:00.000Z"


@dataclass
class FakeFormbricksState:
    """Everything the fake host knows. Mutate freely between requests (the server reads it per request).

    ``contacts`` maps a contact id to its attributes; ``segments`` holds segment objects whose optional
    ``members`` list fixes membership (newest contact first); ``link_failures`` are contact ids whose personal
    link fails, so the contact-links endpoint drops them silently (its pages then come out short);
    ``fail_paths`` makes every request whose path starts with a key answer that status instead.
    """

    api_key: str = "fbk_test_key"
    workspace_id: str = "ws_main"
    workspace_name: str = "Main workspace"
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)
    contact_workspaces: dict[str, str] = field(default_factory=dict)
    surveys: dict[str, dict[str, Any]] = field(default_factory=dict)
    segments: dict[str, dict[str, Any]] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    link_failures: set[str] = field(default_factory=set)
    fail_paths: dict[str, int] = field(default_factory=dict)  # path prefix -> status answered instead
    permission: str = "manage"  # the key's permission on the workspace: read, write or manage
    organization_read: bool = True  # whether the key may read /api/v2/me (organisation read access)
    responses_meta: bool = False  # a real 5.4 instance answers response listings without meta
    requests_seen: list[str] = field(default_factory=list)
    response_updates: list[dict[str, Any]] = field(default_factory=list)  # each PUT of a response: {id, data}
    clock: Callable[[], float] = time.monotonic
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        """A fresh id, readable in test failures."""
        return f"{prefix}{next(self._ids)}"

    def add_contact(
        self, contact_id: str | None = None, *, workspace_id: str | None = None, **attrs: str
    ) -> str:
        """Add a contact with attributes (``userId``, ``email``, ``firstName``, ... or custom keys)."""
        contact_id = contact_id or self.new_id("ct_")
        self.contacts[contact_id] = dict(attrs)
        self.contact_workspaces[contact_id] = workspace_id or self.workspace_id
        return contact_id

    def add_segment(
        self,
        segment_id: str | None = None,
        *,
        title: str = "Segment",
        filters: list[Any] | None = None,
        members: list[str] | None = None,
        is_private: bool = False,
        workspace_id: str | None = None,
    ) -> str:
        """Add a segment; ``members`` (contact ids, newest first) decides who the host resolves."""
        segment_id = segment_id or self.new_id("sg_")
        self.segments[segment_id] = {
            "id": segment_id, "createdAt": STAMP, "updatedAt": STAMP, "title": title, "description": None,
            "isPrivate": is_private, "filters": filters or [],
            "workspaceId": workspace_id or self.workspace_id, "members": members,
        }
        return segment_id

    def add_survey(
        self,
        survey_id: str | None = None,
        *,
        name: str = "Survey",
        type: str = "link",
        status: str = "inProgress",
        hidden_fields: list[str] | None = None,
        single_use: bool = False,
        segment_id: str | None = None,
        workspace_id: str | None = None,
    ) -> str:
        """Add a survey; ``segment_id`` attaches a segment that its v1 object then embeds."""
        survey_id = survey_id or self.new_id("sv_")
        self.surveys[survey_id] = {
            "id": survey_id, "createdAt": STAMP, "updatedAt": STAMP, "name": name, "type": type,
            "status": status, "workspaceId": workspace_id or self.workspace_id,
            "hiddenFields": {"enabled": hidden_fields is not None, "fieldIds": list(hidden_fields or [])},
            "singleUse": {"enabled": single_use, "isEncrypted": True}, "segmentId": segment_id,
        }
        return survey_id

    def add_response(
        self,
        survey_id: str,
        *,
        contact_id: str | None = None,
        finished: bool = True,
        data: dict[str, Any] | None = None,
        url: str | None = None,
        single_use_id: str | None = None,
        updated_at: str = STAMP,
    ) -> str:
        """Add a response as the host would store it."""
        response_id = self.new_id("rs_")
        self.responses.append({
            "id": response_id, "createdAt": updated_at, "updatedAt": updated_at, "surveyId": survey_id,
            "contactId": contact_id, "finished": finished, "data": dict(data or {}),
            "meta": {"url": url} if url else {}, "singleUseId": single_use_id, "displayId": None,
            "endingId": None, "variables": {}, "ttc": {}, "tags": [], "language": "default",
        })
        return response_id

    def attribute_keys(self) -> list[str]:
        """The default keys plus every custom key any contact uses."""
        custom = sorted({k for attrs in self.contacts.values() for k in attrs} - set(DEFAULT_KEYS))
        return [*DEFAULT_KEYS, *custom]
