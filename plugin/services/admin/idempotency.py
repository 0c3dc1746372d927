"""``Idempotency-Key``: the first answer to a key is stored with the effect, in its transaction, and replayed.

The key is claimed by INSERT ... ON CONFLICT DO NOTHING before the effect: a second request with the same key
waits for the first's transaction (PostgreSQL's unique index, SQLite's write lock), then finds its answer. The
same key with another request (method, path or body) is refused. Stored keys go after ``RETENTION``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from plugin.db import DbSession, conflicts
from plugin.errors import Conflict, InvalidInput
from plugin.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, no spaces; a UUID fits
RETENTION = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Replay:
    """The stored first answer to a key."""

    status: int
    body: str


def parse_key(text: str | None) -> str | None:
    """The header's key, None when absent; InvalidInput when it is not 1-255 visible ASCII characters."""
    if text is None:
        return None
    if not KEY.fullmatch(text):
        raise InvalidInput(HEADER, "must be 1 to 255 visible ASCII characters without spaces (e.g. a UUID)")
    return text


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request: method, path and body."""
    return hashlib.sha256(b"\x00".join((method.encode(), path.encode(), body))).hexdigest()


def claim(session: DbSession, key: str, digest: str, now: datetime) -> Replay | None:
    """Claim the key for this request (None: go ahead, in this transaction), or the first answer to replay.

    InvalidInput when the key was used for another request; Conflict when its first request has no answer yet.
    """
    connection = session.connection()
    made = connection.execute(conflicts.insert(connection.dialect.name, IdempotencyKey.__table__).values(
        key=key, request_hash=digest, created_at=now).on_conflict_do_nothing().returning(
        IdempotencyKey.__table__.c.key)).first()
    if made is not None:
        return None
    row = session.execute(select(IdempotencyKey.request_hash, IdempotencyKey.status_code, IdempotencyKey.response)
                          .where(IdempotencyKey.key == key)).one()
    if row.request_hash != digest:
        raise InvalidInput(HEADER, "was already used for another request (a different body or path): send a new "
                                   "key for a new request")
    if row.status_code is None or row.response is None:
        raise Conflict(HEADER, "the first request with this key is still being answered; try again shortly")
    return Replay(int(row.status_code), str(row.response))


def answer(session: DbSession, key: str, status: int, body: str) -> None:
    """Store the answer to the claimed key (in the effect's transaction)."""
    session.execute(update(IdempotencyKey).where(IdempotencyKey.key == key)
                    .values(status_code=status, response=body).execution_options(synchronize_session=False))


def purge(session: DbSession, now: datetime) -> int:
    """Forget keys older than ``RETENTION``; how many."""
    result = session.connection().execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - RETENTION))
    return int(result.rowcount or 0)
