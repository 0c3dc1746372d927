"""Contacts made: the invitations and reminders sent to a contact about a survey, each recorded against the link
the contact held, with its channel and time; and the history a non-respondent row shows (reminders, last contact).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal_column, select, true
from sqlalchemy.sql import ColumnElement

from plugin.db import DbSession
from plugin.errors import InvalidInput
from plugin.models import Contact, ContactMade, Link, Survey
from plugin.services.links.params import parse_datetime

KINDS = ("invitation", "reminder")
CHANNEL = re.compile(r"[a-z][a-z0-9_-]{0,31}")
CHANNEL_RULE = "a short name: a lower-case letter, then up to 31 lower-case letters, digits, - or _ (e.g. email, sms)"
MAX_ENTRIES = 1000  # per API body
FUTURE_TOLERANCE = timedelta(minutes=5)  # a sender's clock a little ahead of ours
MAX_TEXT = 320  # the longest contact id or e-mail a row may name


@dataclass(frozen=True, slots=True)
class Entry:
    """One contact made to record: who (host contact id or e-mail), which survey, kind, channel, when; ``where``
    names it in an error (``contacts[3]``, ``line 7``)."""

    where: str
    contact: str | None
    email: str | None
    survey_id: str
    kind: str
    channel: str
    sent_at: datetime


def parse_kind(field: str, value: Any) -> str:
    """invitation or reminder."""
    if value not in KINDS:
        raise InvalidInput(field, f"must be one of {', '.join(KINDS)}")
    return str(value)


def parse_channel(field: str, value: Any) -> str:
    """A channel name: ``CHANNEL_RULE``."""
    if not isinstance(value, str) or not CHANNEL.fullmatch(value):
        raise InvalidInput(field, f"must be {CHANNEL_RULE}")
    return value


def parse_sent_at(field: str, value: Any, now: datetime) -> datetime:
    """An ISO-8601 time, not ahead of ``now`` (beyond a few minutes of clock skew); absent: now."""
    if value is None or value == "":
        return now
    if not isinstance(value, str):
        raise InvalidInput(field, "must be an ISO-8601 date-time string")
    sent_at = parse_datetime(field, value)
    if sent_at > now + FUTURE_TOLERANCE:
        raise InvalidInput(field, "is in the future")
    return sent_at


def _text(field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise InvalidInput(field, f"must be a string of at most {MAX_TEXT} characters")
    return value


def parse_entry(where: str, item: Mapping[str, Any], now: datetime) -> Entry:
    """An ``Entry`` from an API object (contactId or email, surveyId, kind, channel, sentAt); InvalidInput
    naming ``where`` and the field otherwise."""
    contact, email = _text(f"{where}.contactId", item.get("contactId")), _text(f"{where}.email", item.get("email"))
    if (contact is None) == (email is None):
        raise InvalidInput(f"{where}.contactId", "give contactId or email (one of them)")
    survey_id = _text(f"{where}.surveyId", item.get("surveyId"))
    if survey_id is None:
        raise InvalidInput(f"{where}.surveyId", "is required")
    return Entry(where, contact, email, survey_id, parse_kind(f"{where}.kind", item.get("kind")),
                 parse_channel(f"{where}.channel", item.get("channel")),
                 parse_sent_at(f"{where}.sentAt", item.get("sentAt"), now))


def parse_entries(body: Mapping[str, Any], now: datetime) -> list[Entry]:
    """The ``contacts`` list of an API body (1 to ``MAX_ENTRIES`` objects), every entry checked: all problems at
    once in one InvalidInput."""
    items = body.get("contacts")
    if not isinstance(items, list) or not items:
        raise InvalidInput("contacts", "a non-empty list of contacts made is required")
    if len(items) > MAX_ENTRIES:
        raise InvalidInput("contacts", f"at most {MAX_ENTRIES} per request")
    entries: list[Entry] = []
    problems: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise InvalidInput(f"contacts[{index}]", "must be an object")
            entries.append(parse_entry(f"contacts[{index}]", item, now))
        except InvalidInput as exc:
            problems.extend((d["field"], d["issue"]) for d in exc.details)
    if problems:
        raise InvalidInput.of(problems, "contacts made refused, nothing recorded")
    return entries


def resolve(session: DbSession, entries: Sequence[Entry]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Each entry's survey, live contact and current link, a few statements for the lot: the rows to insert, and
    the problems (unknown survey or contact, an e-mail several contacts share, no link to the survey)."""
    surveys = set(session.scalars(select(Survey.id).where(Survey.id.in_({e.survey_id for e in entries}))))
    live = Contact.deleted_at.is_(None)
    by_host = dict(session.execute(select(Contact.host_id, Contact.id).where(
        live, Contact.host_id.in_({e.contact for e in entries if e.contact}))).all())
    by_email: dict[str, list[int]] = {}
    for email, contact_id in session.execute(select(Contact.email, Contact.id).where(
            live, Contact.email.in_({e.email for e in entries if e.email}))):
        by_email.setdefault(str(email), []).append(contact_id)
    found: list[tuple[Entry, int]] = []
    problems: list[tuple[str, str]] = []
    for entry in entries:
        if entry.survey_id not in surveys:
            problems.append((f"{entry.where}.surveyId", f"survey {entry.survey_id!r} is not known to the sidecar"))
        elif entry.contact is not None and entry.contact not in by_host:
            problems.append((f"{entry.where}.contactId", f"contact {entry.contact!r} not found"))
        elif entry.email is not None and len(by_email.get(entry.email, ())) != 1:
            issue = "no contact has this e-mail" if entry.email not in by_email else \
                "several contacts have this e-mail: name the contact id"
            problems.append((f"{entry.where}.email", issue))
        else:
            found.append((entry, by_host[entry.contact] if entry.contact else by_email[str(entry.email)][0]))
    links = {(survey, contact): link for link, survey, contact in session.execute(
        select(Link.id, Link.survey_id, Link.contact_id).where(
            Link.is_current == true(), Link.contact_id.in_({contact for _, contact in found}),
            Link.survey_id.in_({entry.survey_id for entry, _ in found})))}
    rows = []
    for entry, contact_id in found:
        link_id = links.get((entry.survey_id, contact_id))
        if link_id is None:
            problems.append((entry.where, f"the contact holds no link to survey {entry.survey_id!r}"))
            continue
        rows.append({"survey_id": entry.survey_id, "contact_id": contact_id, "link_id": link_id, "kind": entry.kind,
                     "channel": entry.channel, "sent_at": entry.sent_at, "status": "sent"})
    return rows, problems


def insert_rows(session: DbSession, rows: list[dict[str, Any]], now: datetime, actor: str, source: str) -> int:
    """Store resolved rows as contacts made (sent); how many."""
    if rows:
        session.execute(insert(ContactMade), [{**row, "source": source, "actor": actor, "recorded_at": now}
                                              for row in rows])
    return len(rows)


def record(session: DbSession, entries: Sequence[Entry], now: datetime, actor: str, source: str) -> int:
    """Record the entries as contacts made, all or none (InvalidInput naming every problem); in the caller's
    transaction."""
    rows, problems = resolve(session, entries)
    if problems:
        raise InvalidInput.of(problems, "contacts made refused, nothing recorded")
    return insert_rows(session, rows, now, actor, source)


def _made(survey_id: Any, contact_id: Any, *conditions: ColumnElement[bool]) -> Any:
    return and_(ContactMade.survey_id == survey_id, ContactMade.contact_id == contact_id, *conditions)


def reminders_sent(survey_id: Any, contact_id: Any) -> Any:
    """How many reminders the contact was sent about the survey (confirmed ones), as a correlated subquery."""
    return (select(func.count()).where(_made(survey_id, contact_id, ContactMade.kind == "reminder",
                                             ContactMade.status == "sent"))
            .correlate_except(ContactMade).scalar_subquery())


def last_contacted(survey_id: Any, contact_id: Any) -> Any:
    """When the contact was last sent an invitation or reminder about the survey (None: never)."""
    return (select(func.max(ContactMade.sent_at)).where(_made(survey_id, contact_id, ContactMade.status == "sent"))
            .correlate_except(ContactMade).scalar_subquery())


def contacted_since(survey_id: Any, contact_id: Any, since: datetime) -> ColumnElement[bool]:
    """Whether the contact was sent anything about the survey after ``since`` (EXISTS on the history index)."""
    return exists().where(_made(survey_id, contact_id, ContactMade.status == "sent", ContactMade.sent_at > since))


# Written into the SQL, never bound: ``uq_contacts_made_open_claim`` holds the pending rows alone (``WHERE status =
# 'pending'``), and PostgreSQL's generic plan of a prepared statement (psycopg prepares a statement run five times;
# five runs later PostgreSQL plans it once for any parameters) cannot use it for a bound status.
PENDING: ColumnElement[str] = literal_column("'pending'")


def claimed(survey_id: Any, contact_id: Any) -> ColumnElement[bool]:
    """Whether the contact is in an open reminder batch of the survey (a pending reminder): one probe of the open
    claims' index."""
    # ``OFFSET 0`` keeps it a subquery run per link (PostgreSQL turns a plain NOT EXISTS into an anti join of its
    # choosing): one lookup of the contact in the index. As a join, with the statistics of a table that had no
    # claim yet, PostgreSQL estimated one claim and compared every link with every claim: the 20th reminder batch
    # of 1,000 in a row took 10 s, the 1st 50 ms (bench/RESULTS.md).
    return (select(ContactMade.id).where(_made(survey_id, contact_id, ContactMade.status == PENDING))
            .offset(0).exists())
