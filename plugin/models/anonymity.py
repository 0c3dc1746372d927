"""What anonymous surveys keep instead of attributions: one-time tickets, pending host erasures and
per-survey tallies (services/anonymity, docs/anonymity.md)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import UTCDateTime, db


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
