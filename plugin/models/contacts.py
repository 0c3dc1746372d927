"""Contacts and segments, as the contact source knows them (services/contacts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, func, text
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
