"""Purging what has outlived its retention, in batches so neither database holds its write lock for long.

A link expired longer ago than the token retention loses its token (``purged_at``: its URL then answers like
an expired link; an anonymous survey's unused tickets of it go too); after the link retention its row goes too,
except a revoked link its contact still holds (the revocation holds: the contact stays left out of downloads
until an admin re-issues). Webhook deliveries
that were applied or ignored go after the inbox retention (failed and dead ones stay for the retry job and the
admin). Each batch is its own short transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, false, select, update
from sqlalchemy.sql import ColumnElement

from plugin.db import DbSession
from plugin.models import AnonymousTicket, Link
from plugin.services.links.links import audit
from webhooks.models import InboxDelivery

BATCH = 1000


def _in_batches(session: DbSession, ids_query: Callable[[], Any], apply: Callable[[list[int]], Any]) -> int:
    """Apply a change to the ids the query finds, ``BATCH`` at a time, committing each batch."""
    total = 0
    while True:
        ids = list(session.scalars(ids_query()))
        if not ids:
            return total
        apply(ids)
        session.commit()
        total += len(ids)


def _expired_before(cutoff: datetime) -> ColumnElement[bool]:
    return Link.expires_at.is_not(None) & (Link.expires_at < cutoff)


def purge(session: DbSession, now: datetime, *, token_days: int, link_days: int, actor: str,
          inbox_days: int | None = None, batch: int = BATCH) -> dict[str, int]:
    """Purge tokens, then link rows, after their retentions; audit the counts; return them."""
    token_cutoff = now - timedelta(days=token_days)
    link_cutoff = now - timedelta(days=max(link_days, token_days))
    tokens = _in_batches(
        session,
        lambda: select(Link.id).where(_expired_before(token_cutoff), Link.purged_at.is_(None))
        .order_by(Link.id).limit(batch),
        lambda ids: session.execute(update(Link).where(Link.id.in_(ids)).values(
            purged_at=now, is_current=case((Link.revoked_at.is_not(None), Link.is_current), else_=false()))),
    )
    session.execute(delete(AnonymousTicket).where(AnonymousTicket.link_id.in_(
        select(Link.id).where(Link.purged_at.is_not(None)))))
    session.commit()
    held = Link.revoked_at.is_not(None) & Link.is_current.is_(True)
    rows = _in_batches(
        session,
        lambda: select(Link.id).where(_expired_before(link_cutoff), ~held).order_by(Link.id).limit(batch),
        lambda ids: session.execute(delete(Link).where(Link.id.in_(ids))),
    )
    counts = {"tokens": tokens, "links": rows}
    if inbox_days is not None:
        inbox_cutoff = now - timedelta(days=inbox_days)
        counts["deliveries"] = _in_batches(
            session,
            lambda: select(InboxDelivery.id).where(InboxDelivery.received_at < inbox_cutoff,
                                                   InboxDelivery.status.in_(("applied", "ignored")))
            .order_by(InboxDelivery.id).limit(batch),
            lambda ids: session.execute(delete(InboxDelivery).where(InboxDelivery.id.in_(ids))),
        )
    audit(session, "purged", actor, now, detail={**counts, "tokenCutoff": token_cutoff.isoformat(),
                                                 "linkCutoff": link_cutoff.isoformat()})
    session.commit()
    return counts
