"""Purging links that ended long ago, in batches so neither database holds its write lock for long."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from plugin.db import DbSession
from plugin.models import Link
from plugin.services.links import audit


def purge_expired(session: DbSession, now: datetime, older_than_days: int, actor: str, *,
                  batch: int = 1000) -> int:
    """Delete links that expired more than ``older_than_days`` ago; commits per batch; returns the count."""
    cutoff = now - timedelta(days=older_than_days)
    total = 0
    while True:
        ids = list(session.scalars(select(Link.id).where(Link.expires_at.is_not(None), Link.expires_at < cutoff)
                                   .order_by(Link.id).limit(batch)))
        if not ids:
            break
        session.execute(delete(Link).where(Link.id.in_(ids)))
        total += len(ids)
        session.commit()
    audit(session, "purged", actor, now, detail={"links": total, "expiredBefore": cutoff.isoformat()})
    session.commit()
    return total
