"""``INSERT ... ON CONFLICT`` in the construct each dialect has: the dialect switch, written once.

SQLAlchemy's generic ``insert`` has no ``ON CONFLICT``; PostgreSQL's and SQLite's own constructs have the same
``on_conflict_do_nothing`` and ``on_conflict_do_update``. Every set-once write (leases, idempotency keys, claims
of contacts, the inbox, the backlog row, the readiness heartbeat) asks here for the one its database speaks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite


def insert(dialect: str, table: Any) -> Any:
    """The dialect's INSERT construct for ``table`` (a Table or a mapped class), which has ``ON CONFLICT``."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
