"""Formbricks response webhooks: a verified raw body parsed strictly into frozen records
(``plugin.services.responses.records``, which the attribution rule takes).

Call ``parse_delivery`` only on a body that ``webhooks.signature.verify`` accepted. Every error is a
``PayloadError`` naming the field at fault. Recommended answers for the receiver view: ``UnknownEventError``
-> 2xx and ignore (the host may add events; an authentic delivery we do not handle needs no retry), any
other ``PayloadError`` -> 400 (an authentic but malformed body will not get better by being re-sent).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from math import isfinite
from typing import Any

from plugin.services.responses.records import Delivery, ResponseRecord

TEST_EVENT = "testEndpoint"
RESPONSE_EVENTS = frozenset({"responseCreated", "responseUpdated", "responseFinished"})

_ISO_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_JSON_NAMES = {str: "a string", bool: "true or false", dict: "an object"}


class PayloadError(Exception):
    """Raised when a verified body is not a delivery we understand; ``field`` names the part at fault."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownEventError(PayloadError):
    """Raised for a well-formed body whose ``event`` we do not handle; answer 2xx and ignore it."""

    def __init__(self, event: str) -> None:
        super().__init__(f"event {event[:64]!r} is not handled", field="event")
        self.event = event


@dataclass(frozen=True, slots=True)
class TestPing:
    """The host UI's "Test Endpoint" post: ``{"event": "testEndpoint"}``, unsigned, expecting a 2xx."""

    event: str = TEST_EVENT


class DuplicateKeyError(PayloadError):
    """Raised by ``object_without_duplicates`` for a JSON object that gives a key twice; ``key`` names it."""

    def __init__(self, key: str) -> None:
        super().__init__(f"body gives the key {key[:64]!r} twice in one object", field="body")
        self.key = key


def object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' ``object_pairs_hook`` refusing a key given twice: parsers differ on which value counts,
    so such a body means different things to different readers. The one rule for every JSON body we take
    (the webhook intake's, and the admin API's in ``plugin.api.body``)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKeyError(key)
        found[key] = value
    return found


def _refuse_constant(name: str) -> Any:
    raise PayloadError(f"body contains {name}, which is not JSON", field="body")


def _finite_float(text: str) -> float:
    value = float(text)
    if not isfinite(value):
        raise PayloadError(f"body contains a number too large for a float: {text[:32]}", field="body")
    return value


def _load(body: bytes) -> Any:
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8", field="body") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=object_without_duplicates,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except RecursionError:
        raise PayloadError("body nests too deeply", field="body") from None
    except ValueError as exc:  # JSONDecodeError, and integers beyond Python's digit limit
        raise PayloadError(f"body is not JSON: {exc}", field="body") from None


def _get(obj: Mapping[str, Any], key: str, path: str, kind: type, *, required: bool) -> Any:
    """``obj[key]`` checked to be of ``kind``; absent or null gives None, or an error when required."""
    value = obj.get(key)
    if value is None:
        if required:
            raise PayloadError(f"{path} is {'null' if key in obj else 'missing'}", field=path)
        return None
    if not isinstance(value, kind):
        raise PayloadError(f"{path} must be {_JSON_NAMES[kind]}, not {type(value).__name__}", field=path)
    return value


MAX_ID_LENGTH = 255  # the host's ids are cuids of 25 characters; the sidecar stores up to 255


def _id(obj: Mapping[str, Any], key: str, path: str) -> str:
    value: str = _get(obj, key, path, str, required=True)
    if not value.strip():
        raise PayloadError(f"{path} is empty", field=path)
    if len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise PayloadError(f"{path} is not an id: longer than {MAX_ID_LENGTH} or holds control characters",
                           field=path)
    return value


def _time(obj: Mapping[str, Any], key: str, path: str) -> datetime:
    value: str = _get(obj, key, path, str, required=True)
    if not _ISO_RE.fullmatch(value):
        raise PayloadError(f"{path} is not an ISO 8601 time with a zone: {value[:40]!r}", field=path)
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise PayloadError(f"{path} is not a valid time: {value[:40]!r}", field=path) from None


def _response(obj: Mapping[str, Any]) -> ResponseRecord:
    # Payloads from before 2024 have person / personAttributes in place of contact / contactAttributes.
    contact_key = "contact" if "contact" in obj else "person"
    contact = _get(obj, contact_key, f"data.{contact_key}", dict, required=False)
    meta = _get(obj, "meta", "data.meta", dict, required=False)
    return ResponseRecord(
        id=_id(obj, "id", "data.id"),
        survey_id=_id(obj, "surveyId", "data.surveyId"),
        finished=_get(obj, "finished", "data.finished", bool, required=True),
        created_at=_time(obj, "createdAt", "data.createdAt"),
        updated_at=_time(obj, "updatedAt", "data.updatedAt"),
        contact_id=None if contact is None else _id(contact, "id", f"data.{contact_key}.id"),
        data=_get(obj, "data", "data.data", dict, required=True),
        meta_url=None if meta is None else _get(meta, "url", "data.meta.url", str, required=False),
        single_use_id=_get(obj, "singleUseId", "data.singleUseId", str, required=False),
    )


def parse_delivery(body: bytes) -> Delivery | TestPing:
    """The delivery in a verified raw body; PayloadError (UnknownEventError for other events) otherwise."""
    document = _load(body)
    if not isinstance(document, dict):
        raise PayloadError(f"body must be a JSON object, not {type(document).__name__}", field="body")
    event: str = _get(document, "event", "event", str, required=True)
    if event == TEST_EVENT:
        return TestPing()
    if event not in RESPONSE_EVENTS:
        raise UnknownEventError(event)
    return Delivery(
        event=event,
        webhook_config_id=_get(document, "webhookId", "webhookId", str, required=False) or "",
        response=_response(_get(document, "data", "data", dict, required=True)),
    )
