"""The sidecar's tables: contacts and segments from the host, surveys, links, attributions, audit, API keys,
and what anonymous surveys keep instead of attributions (tickets, pending host erasures, per-survey tallies)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import UTCDateTime, db


class Contact(db.Model):  # type: ignore[name-defined,misc]
    """A contact as the contact source knows it; ``host_id`` is the host's contact id."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_id: Mapped[str] = mapped_column(String(255), unique=True)
    custom_id: Mapped[str | None] = mapped_column(String(255), index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(32), default="csv")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # the address as suppressions store it: the contacts a suppressed address names, without reading them all (0012)
    __table_args__ = (Index("ix_contacts_email_address", func.lower(func.trim(text("email")))),)


class Segment(db.Model):  # type: ignore[name-defined,misc]
    """A named group of contacts: from the host, a saved local filter, or a static import."""

    __tablename__ = "segments"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(16), default="static")  # static | host | local
    filters: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentMember(db.Model):  # type: ignore[name-defined,misc]
    """Membership of a contact in a segment."""

    __tablename__ = "segment_members"

    segment_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Survey(db.Model):  # type: ignore[name-defined,misc]
    """A host survey that personal links can point to; ``public_url`` is where respondents are sent."""

    __tablename__ = "surveys"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    public_url: Mapped[str] = mapped_column(String(2048))
    type: Mapped[str] = mapped_column(String(16), default="link")
    status: Mapped[str] = mapped_column(String(32), default="inProgress")
    hidden_field_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    single_use: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(32), default="manual")
    language: Mapped[str | None] = mapped_column(String(35))  # BCP 47 tag of the respondent pages, e.g. de
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # anonymous: responses are never tied to a contact (docs/anonymity.md); since when (a day, UTC midnight)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    anonymous_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Link(db.Model):  # type: ignore[name-defined,misc]
    """One contact's personal link to one survey. Its state is derived from the timestamps and counts.

    ``is_current`` marks the link a contact holds for a survey now; a partial unique index allows one.
    """

    __tablename__ = "links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[str] = mapped_column(String(255), ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(Integer, ForeignKey("contacts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    use_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    open_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    first_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the token no longer opens
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    single_use_url: Mapped[str | None] = mapped_column(String(2048))
    batch_id: Mapped[str | None] = mapped_column(String(32), index=True)

    __table_args__ = (
        Index(
            "uq_links_current",
            "survey_id",
            "contact_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
        Index("ix_links_survey_contact", "survey_id", "contact_id"),
        # the links someone started, in contact order: a page of those who started and stopped (0010)
        Index(
            "ix_links_started",
            "survey_id",
            "contact_id",
            sqlite_where=text("started_at IS NOT NULL"),
            postgresql_where=text("started_at IS NOT NULL"),
        ),
    )


class ResponseAttribution(db.Model):  # type: ignore[name-defined,misc]
    """What the sidecar knows of one host response: which link and contact it came through, and its fate."""

    __tablename__ = "response_attributions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[str] = mapped_column(String(255), unique=True)
    survey_id: Mapped[str] = mapped_column(String(255), index=True)
    link_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("links.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    # attributed | started | duplicate | late | early | unattributed | rejected
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # set when a duplicate was deleted on the host (PERSONAL_LINKS_DELETE_DUPLICATES_ON_HOST)
    host_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    """One action on a link (issued, opened, revoked, used, purged) or on the sidecar itself; who and when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(255))
    link_id: Mapped[int | None] = mapped_column(Integer, index=True)
    survey_id: Mapped[str | None] = mapped_column(String(255))
    contact_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)  # the request or job run that wrote it


class ApiKey(db.Model):  # type: ignore[name-defined,misc]
    """An admin API key: only its SHA-256 is stored; ``prefix`` finds the row without revealing the key."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("prefix"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SyncRun(db.Model):  # type: ignore[name-defined,misc]
    """One sync of contacts, segments and surveys from the adapters: when, what it changed, how it ended.

    Written in its own transactions, so a sync that fails and rolls back still leaves its record.
    """

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    actor: Mapped[str] = mapped_column(String(255))
    added: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    changed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    removed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    segments: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    surveys: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)


class AuthFailure(db.Model):  # type: ignore[name-defined,misc]
    """Failed authentications (bad API key, failed sign-in) of one client address in one fixed time window.

    In the database so every process and instance counts against the same limit.
    """

    __tablename__ = "auth_failures"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class ContactMade(db.Model):  # type: ignore[name-defined,misc]
    """One invitation or reminder sent to a contact about a survey, through the link they held: channel, time.

    ``status``: sent (a contact made), pending (in an open reminder batch, not yet confirmed) or failed (a batch
    released it: not a contact made). A partial unique index allows one pending row per contact and survey: the
    open claim a reminder batch makes by a conditional INSERT, whose row count decides.
    """

    __tablename__ = "contacts_made"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[str] = mapped_column(String(255), ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(Integer, ForeignKey("contacts.id", ondelete="CASCADE"))
    link_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("links.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # invitation | reminder
    channel: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="sent")  # sent | pending | failed
    batch_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("reminder_batches.id", ondelete="SET NULL"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # api | cli | import | batch
    actor: Mapped[str] = mapped_column(String(255))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # a contact's history for one survey: the reminders counted and the last contact, per non-respondent row
        Index("ix_contacts_made_survey_contact", "survey_id", "contact_id", "sent_at"),
        Index("uq_contacts_made_open_claim", "survey_id", "contact_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )


class ReminderBatch(db.Model):  # type: ignore[name-defined,misc]
    """Contacts picked as due for a reminder at once: open until confirmed, released, or timed out (released)."""

    __tablename__ = "reminder_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[str] = mapped_column(String(255), ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # open | confirmed | released | expired
    channel: Mapped[str] = mapped_column(String(32))
    cadence: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # released by the job after this
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotencyKey(db.Model):  # type: ignore[name-defined,misc]
    """A client's ``Idempotency-Key`` and the first answer to it; claimed in the transaction of the effect."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and body
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
class AnonymousTicket(db.Model):  # type: ignore[name-defined,misc]
    """A one-time ticket of an anonymous survey's link, by its keyed hash only, until its response finishes.

    The hash is the primary key (no row id that would order tickets by their opening); only the day it was
    made is kept, for the purge.
    """

    __tablename__ = "anonymous_tickets"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    link_id: Mapped[int] = mapped_column(Integer, ForeignKey("links.id", ondelete="CASCADE"), index=True)
    created_on: Mapped[date] = mapped_column(Date)


class HostErasure(db.Model):  # type: ignore[name-defined,misc]
    """A host response of an anonymous survey whose ticket must still be overwritten; deleted once done.

    Names the response and its survey only, never a link or contact. ``last_status`` is the host's answer to
    the last failed attempt (401: the key lacks write access).
    """

    __tablename__ = "host_erasures"

    response_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    survey_id: Mapped[str] = mapped_column(String(255), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class AnonymousTally(db.Model):  # type: ignore[name-defined,misc]
    """What an anonymous survey counts per survey instead of per contact: finished responses that used no
    link (duplicates, late, rejected, unmatched) and host erasures done."""

    __tablename__ = "anonymous_tallies"

    survey_id: Mapped[str] = mapped_column(String(255), ForeignKey("surveys.id", ondelete="CASCADE"),
                                           primary_key=True)
    duplicates: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    late: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    rejected: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    unmatched: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    erased: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
class Suppression(db.Model):  # type: ignore[name-defined,misc]
    """A contact or an address not to be reminded: a bounce, an opt-out or a complaint, since ``at``.

    Recorded per contact (``contact_id``) and per address (``email``, lower-cased), so a contact synced again
    under a new host id is still suppressed. Removing one keeps the row (``removed_at``, ``removed_by``): only
    rows without ``removed_at`` suppress, and the partial indexes hold those only.
    """

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("contacts.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(16))  # bounce | opt-out | complaint
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it happened (the bounce, the opt-out)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(255))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        # "is this contact suppressed": one probe per row of a million-link query, by contact and by address
        Index("ix_suppressions_contact", "contact_id", sqlite_where=text("removed_at IS NULL"),
              postgresql_where=text("removed_at IS NULL")),
        Index("ix_suppressions_email", "email", sqlite_where=text("removed_at IS NULL"),
              postgresql_where=text("removed_at IS NULL")),
    )
