"""Surveys, the personal links that point to them, and what the sidecar knows of each host response: which
link and contact it came through, and its fate (services/links)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import UTCDateTime, db


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
