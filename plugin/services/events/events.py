"""Recording outbound events: written in the transaction of the change they report, skipped when unwanted.

``record`` is one prepared INSERT (the contact's host id looked up inside it); ``record_links`` is one
INSERT ... SELECT for every link a condition selects (issuing a million links writes a million rows, but never
a million Python objects). Both first ask a per-process cache of the kinds some active subscription wants:
when nobody subscribes to a kind, recording it costs a dictionary lookup and no SQL.

The cache is read from the database at most every ``KINDS_MAX_AGE`` seconds and dropped at once when this
process changes a subscription; another process sees a change after at most ``KINDS_MAX_AGE`` seconds, and
events of a kind newly subscribed in another process are not recorded during that lag (docs/events.md).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, bindparam, cast, insert, literal, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import ColumnElement

from plugin.clock import iso
from plugin.db import DbSession, UTCDateTime
from plugin.models import Contact, EventSubscription, Link, OutboxEvent

KINDS = ("link.issued", "link.opened", "link.revoked", "response.started", "response.completed",
         "response.duplicate", "contact.suppressed", "reminder.batch.created")
FIRST = ("response.started", "response.completed", "response.duplicate")  # sent before every other kind
KINDS_MAX_AGE = 5.0  # seconds a process trusts its copy of the subscribed kinds
EVENT_PREFIX = "evt_"


@dataclass(frozen=True, slots=True)
class _Kinds:
    kinds: frozenset[str]
    read_at: float


_CACHE: weakref.WeakKeyDictionary[Engine, _Kinds] = weakref.WeakKeyDictionary()  # per database of this process
_LOCK = threading.Lock()

_OUTBOX = OutboxEvent.__table__
_HOST_ID = select(Contact.host_id).where(Contact.id == bindparam("p_contact")).scalar_subquery()
# Built once: the click and the webhook intake run it.
_RECORD = insert(_OUTBOX).values(
    event_id=bindparam("p_event"), kind=bindparam("p_kind"), at=bindparam("p_at", type_=UTCDateTime),
    survey_id=bindparam("p_survey"), contact_id=bindparam("p_contact"), contact_host_id=_HOST_ID,
    link_id=bindparam("p_link"), data=bindparam("p_data", type_=JSON))
_ACTIVE_KINDS = select(EventSubscription.kinds).where(EventSubscription.status == "active")


def new_event_id() -> str:
    """A fresh event id: ``evt_`` and 24 hex digits."""
    return EVENT_PREFIX + secrets.token_hex(12)


def _bind(target: DbSession | Connection) -> tuple[Any, Connection]:
    """The engine and the connection of a session (its transaction's) or of a connection (itself)."""
    if isinstance(target, Connection):
        return target.engine, target
    return target.get_bind(), target.connection()


def wanted(target: DbSession | Connection, kind: str) -> bool:
    """Whether some active subscription wants ``kind`` (this process's copy, at most KINDS_MAX_AGE old)."""
    engine, connection = _bind(target)
    clock = time.monotonic()
    entry = _CACHE.get(engine)
    if entry is None or clock - entry.read_at > KINDS_MAX_AGE:
        kinds = frozenset(kind for row in connection.execute(_ACTIVE_KINDS) for kind in row[0] or ())
        entry = _Kinds(kinds, clock)
        with _LOCK:
            _CACHE[engine] = entry
    return kind in entry.kinds


def forget_kinds() -> None:
    """Drop this process's copies of the subscribed kinds (a subscription changed here): every engine's, the
    webhook intake's own included (``webhooks.connections``); read again on next use."""
    with _LOCK:
        _CACHE.clear()


def priority(kind: str) -> int:
    """A delivery's place in the queue: 0 for a response event, 1 for the rest; lower is claimed first, so an
    answer is never sent after a backlog of opens or issued links (docs/events.md, "Order")."""
    return 0 if kind in FIRST else 1


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}; known: {', '.join(KINDS)}")


def record(target: DbSession | Connection, kind: str, *, survey_id: str | None, contact_id: int | None,
           link_id: int | None, at: datetime, data: dict[str, Any] | None = None) -> str | None:
    """Write one event in the caller's transaction; its id, or None when no active subscription wants ``kind``.

    ``contact_id`` is the contact's row id (``contacts.id``); the event names the contact by its host id.
    ``data`` holds the kind's own fields (JSON, never a token). The caller commits, with its change.
    """
    _check(kind)
    if not wanted(target, kind):
        return None
    event_id = new_event_id()
    _bind(target)[1].execute(_RECORD, {"p_event": event_id, "p_kind": kind, "p_at": at, "p_survey": survey_id,
                                           "p_contact": contact_id, "p_link": link_id, "p_data": data})
    return event_id


def record_each(connection: Connection, kind: str, items: Sequence[tuple[str, int, int, datetime]]) -> int:
    """One event per ``(survey id, contact row id, link id, time)``, by one prepared INSERT run for all of them in
    the connection's transaction (the opens ``services.open_log`` writes together); how many were written."""
    _check(kind)
    if not items or not wanted(connection, kind):
        return 0
    connection.execute(_RECORD, [{"p_event": new_event_id(), "p_kind": kind, "p_at": at, "p_survey": survey_id,
                                  "p_contact": contact_id, "p_link": link_id, "p_data": None}
                                 for survey_id, contact_id, link_id, at in items])
    return len(items)


def record_links(session: DbSession, kind: str, which: ColumnElement[bool], at: datetime,
                 data: dict[str, Any] | None = None) -> bool:
    """One event per link ``which`` selects, by a single INSERT ... SELECT; False when nobody wants ``kind``.

    The ids are ``evt_<16 hex of this statement>_<link id>``: unique, and made by the database.
    """
    _check(kind)
    if not wanted(session, kind):
        return False
    prefix = f"{EVENT_PREFIX}{secrets.token_hex(8)}_"
    rows = (select(literal(prefix, String) + cast(Link.id, String), literal(kind, String), literal(at, UTCDateTime),
                   Link.survey_id, Link.contact_id, Contact.host_id, Link.id, literal(data, JSON))
            .join(Contact, Contact.id == Link.contact_id).where(which))
    session.execute(insert(OutboxEvent).from_select(
        ["event_id", "kind", "at", "survey_id", "contact_id", "contact_host_id", "link_id", "data"], rows))
    return True


def payload(event: Any) -> bytes:
    """The body sent for an outbox row: the same bytes on every attempt (keys sorted, no spaces)."""
    data = {"surveyId": event.survey_id, "contactId": event.contact_host_id, "linkId": event.link_id,
            **(event.data or {})}
    body = {"id": event.event_id, "type": event.kind, "timestamp": iso(event.at), "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
