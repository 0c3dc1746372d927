"""Local segments: saved filters in the host's own format, evaluated over the synced contacts.

An admin without the host's licence, or with a segment the host's API cannot list, still gets segments.
Members are re-evaluated when a local segment is saved and on every sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from adapters import segment_filters
from adapters.base import AdapterError, attribute_name_problem
from adapters.base import Contact as SourceContact
from plugin.db import DbSession
from plugin.errors import InvalidInput, NotFound, Refused
from plugin.models import Contact, Segment
from plugin.services.contacts.contacts import set_members


def _foreign_kinds(filters: Any, path: str = "filters") -> list[str]:
    """Filters of kinds only the host can evaluate (devices, survey interactions, other segments)."""
    problems = []
    for index, item in enumerate(filters):
        where, res = f"{path}[{index}].resource", item["resource"]
        if isinstance(res, list):
            problems.extend(_foreign_kinds(res, where))
        elif res["root"]["type"] not in segment_filters.LOCAL_KINDS:
            problems.append(f"{where}.root.type: {res['root']['type']!r} filters need the host's data; a local "
                            f"segment can use {' and '.join(sorted(segment_filters.LOCAL_KINDS))} filters")
    return problems


def _local_problems(filters: Any, path: str = "filters") -> list[str]:
    """Filters whose operator compares with a value that is missing or blank (``equals ""`` matched no one, as
    empty cells are left out of a contact, and ``contains ""`` everyone, silently) or whose attribute name is too
    long. (A host's segments are evaluated as the host saved them; only what is saved here is held to this.)"""
    problems = []
    for index, item in enumerate(filters):
        where, res = f"{path}[{index}].resource", item["resource"]
        if isinstance(res, list):
            problems.extend(_local_problems(res, where))
            continue
        key = res["root"].get("contactAttributeKey")
        if isinstance(key, str) and (problem := attribute_name_problem(key)) is not None:
            problems.append(f"{where}.root.contactAttributeKey: {problem}")
        operator, value = res["qualifier"]["operator"], res.get("value")
        if operator not in ("isSet", "isNotSet") and (value is None or isinstance(value, str) and not value.strip()):
            problems.append(f"{where}.value: operator {operator!r} needs a value (only isSet and isNotSet take none)")
    return problems


def check_filters(filters: Any) -> list[Any]:
    """The filter tree when a local segment can use it; InvalidInput listing every problem by its path."""
    problems = segment_filters.validate(filters)
    if not problems:
        problems = _foreign_kinds(filters) or _local_problems(filters)
    if problems:
        raise InvalidInput("filters", "; ".join(problems))
    return filters  # type: ignore[no-any-return]


def attribute_filter(key: str, operator: str, value: Any) -> list[dict[str, Any]]:
    """A one-filter tree: contacts whose attribute ``key`` satisfies ``operator`` with ``value``."""
    resource: dict[str, Any] = {"id": "r1", "root": {"type": "attribute", "contactAttributeKey": key},
                                "qualifier": {"operator": operator}}
    if operator not in ("isSet", "isNotSet"):
        resource["value"] = value
    return [{"id": "f1", "connector": None, "resource": resource}]


def _check_id(segment_id: str) -> None:
    if not segment_id or len(segment_id) > 255 or not segment_id.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput("segmentId", "letters, digits, '-' and '_' only, at most 255")


def save_local_segment(session: DbSession, segment_id: str, body: Mapping[str, Any], now: datetime) -> Segment:
    """Create or replace a local segment from ``{title, filters, description?}`` and evaluate its members."""
    _check_id(segment_id)
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 255:
        raise InvalidInput("title", "a non-empty string of at most 255 characters")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise InvalidInput("description", "a string")
    filters = check_filters(body.get("filters"))
    row = session.get(Segment, segment_id)
    if row is not None and row.kind != "local":
        raise Refused("segmentId", f"a {row.kind} segment has this id",
                      f"segment {segment_id!r} is a {row.kind} segment, not a local one: choose another id")
    if row is None:
        row = Segment(id=segment_id, kind="local", is_private=False, created_at=now)
        session.add(row)
    row.title, row.description, row.filters, row.updated_at = title.strip(), description, filters, now
    session.flush()
    evaluate_local_segments(session, now, [row])
    return row


def remove_local_segment(session: DbSession, segment_id: str) -> None:
    """Delete a local segment (its memberships go with it; links already issued stay)."""
    row = session.get(Segment, segment_id)
    if row is None:
        raise NotFound("segment", f"segment {segment_id!r} not found")
    if row.kind != "local":
        raise Refused("segmentId", f"a {row.kind} segment",
                      f"segment {segment_id!r} is a {row.kind} segment: only local segments can be removed here")
    session.delete(row)
    session.flush()


def _live_contacts(session: DbSession) -> list[tuple[int, SourceContact]]:
    rows = session.execute(select(Contact.id, Contact.host_id, Contact.custom_id, Contact.email,
                                  Contact.first_name, Contact.last_name, Contact.attributes)
                           .where(Contact.deleted_at.is_(None)))
    return [(row.id, SourceContact(host_id=row.host_id, custom_id=row.custom_id, email=row.email,
                                   first_name=row.first_name, last_name=row.last_name,
                                   attributes={str(k): str(v) for k, v in (row.attributes or {}).items()}))
            for row in rows]


def evaluate_local_segments(session: DbSession, now: datetime, segments: list[Segment] | None = None) -> int:
    """Set the members of local segments (all of them unless given) from their filters; return how many."""
    if segments is None:
        segments = list(session.scalars(select(Segment).where(Segment.kind == "local")))
    if not segments:
        return 0
    contacts = _live_contacts(session)
    for segment in segments:
        try:
            wanted = {row_id for row_id, contact in contacts
                      if segment_filters.matches(segment.filters or [], contact, now)}
        except AdapterError as exc:
            raise InvalidInput("filters", f"local segment {segment.id!r}: {exc.message}") from exc
        set_members(session, segment.id, wanted)
    return len(segments)
