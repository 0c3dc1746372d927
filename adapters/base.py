"""The adapter contract: what the sidecar needs from a host platform, as frozen records.

Adapters import nothing from Flask or from ``plugin/``. A contact source gives contacts and segments; a survey
host gives surveys and, where the host has them, webhook registration, single-use ids and a responses listing.
One adapter may be both (Formbricks with the Contacts licence) or only one (a CSV file gives contacts only).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


class AdapterError(Exception):
    """Raised when a host or a source cannot give what was asked; the message says what to do.

    ``status`` is the host's HTTP status where there was one, ``body`` what it answered (parsed when JSON).
    """

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class SourceFormatError(AdapterError):
    """Raised when a contact file is malformed: missing columns, bad encoding, duplicate ids.

    ``line`` is the 1-based line of the file where the problem is, when one line is at fault.
    """

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line


class ConfigurationError(AdapterError):
    """Raised when an adapter is unknown or lacks a setting it needs."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A named group of contacts: ``member_ids`` are host contact ids, ``filters`` the host's filter tree."""

    id: str
    title: str
    description: str | None = None
    is_private: bool = False
    member_ids: tuple[str, ...] = ()
    filters: Any = None


MAX_ATTRIBUTE_NAME = 255  # characters of an attribute's name (a file's column, a filter's key), as of an id


def attribute_name_problem(name: str) -> str | None:
    """What is wrong with an attribute's name, or None: at most ``MAX_ATTRIBUTE_NAME`` characters."""
    if len(name) > MAX_ATTRIBUTE_NAME:
        return f"an attribute name is at most {MAX_ATTRIBUTE_NAME} characters (it has {len(name)})"
    return None


@dataclass(frozen=True, slots=True)
class Contact:
    """One contact of the host: its own id, the host's user id, the named fields, and the other attributes.

    A source that reads membership row by row (a CSV file) names the contact's ``segments`` here (their
    ``member_ids`` empty), so that a file is read in one pass; ``line`` is where in the file it was found.
    """

    host_id: str
    custom_id: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    segments: tuple[Segment, ...] = ()
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Survey:
    """A survey on the host, with what personal links need of it."""

    id: str
    name: str
    public_url: str
    type: str = "link"
    status: str = "inProgress"
    hidden_field_ids: tuple[str, ...] = ()
    single_use: bool = False
    workspace_id: str | None = None
    language: str | None = None  # the survey's default language code, when the host says


@dataclass(frozen=True, slots=True)
class WebhookRegistration:
    """A webhook on the host. ``secret`` is only known right after creation (the host shows it once)."""

    id: str
    url: str
    triggers: tuple[str, ...]
    survey_ids: tuple[str, ...] = ()
    secret: str | None = None


@dataclass(frozen=True, slots=True)
class HostResponse:
    """A survey response as the host lists it (used to reconcile missed webhooks)."""

    id: str
    survey_id: str
    finished: bool
    data: Mapping[str, Any]
    contact_id: str | None = None
    meta_url: str | None = None
    single_use_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@runtime_checkable
class ContactSource(Protocol):
    """Where contacts and segments come from."""

    name: str

    def contacts(self) -> Iterator[Contact]:
        """Every contact, each once."""
        ...

    def segments(self) -> Sequence[Segment]:
        """Every segment with its members (host contact ids)."""
        ...


@runtime_checkable
class SurveyHost(Protocol):
    """Where surveys live and where responses are collected."""

    name: str

    def surveys(self) -> Sequence[Survey]:
        """The host's surveys."""
        ...

    def survey(self, survey_id: str) -> Survey:
        """One survey; raises AdapterError (status 404) when unknown."""
        ...

    def register_webhook(
        self, url: str, triggers: Sequence[str], survey_ids: Sequence[str] = ()
    ) -> WebhookRegistration:
        """Create a webhook on the host; the result carries the secret."""
        ...

    def webhooks(self) -> Sequence[WebhookRegistration]:
        """The host's webhooks (without secrets)."""
        ...

    def remove_webhook(self, webhook_id: str) -> None:
        """Delete a webhook; a missing one is not an error."""
        ...

    def single_use_ids(self, survey_id: str, count: int) -> list[str]:
        """``count`` single-use survey URLs from the host (each carrying its own ``suId``)."""
        ...

    def responses(self, survey_id: str, since: datetime | None = None) -> Iterator[HostResponse]:
        """The survey's responses, oldest first, updated at or after ``since`` when given."""
        ...
