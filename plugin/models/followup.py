"""Follow-up: contacts made (invitations and reminders sent), reminder batches and suppressions
(services/followup)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import UTCDateTime, db


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
