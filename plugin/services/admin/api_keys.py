"""Admin API keys: made once and shown once, stored as a SHA-256 hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from datetime import datetime, timedelta

from sqlalchemy import select, update

from plugin.db import DbSession
from plugin.errors import InvalidInput, NotFound
from plugin.models import ApiKey

KEY_PREFIX = "plk_"
_ALPHABET = string.ascii_letters + string.digits
_KEY_SHAPE = re.compile(r"plk_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{20,100}")  # what create_key makes; nothing else is looked up
LAST_USED_PRECISION = timedelta(minutes=5)
MAX_NAME = 255  # the column's length; checked here so SQLite (which would store more) and PostgreSQL agree
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    """A key's name, trimmed: what the key is for, required, at most ``MAX_NAME`` characters."""
    name = name.strip()
    if not name:
        raise InvalidInput("name", "required: what the key is for (e.g. ops)")
    if len(name) > MAX_NAME:
        raise InvalidInput("name", f"at most {MAX_NAME} characters (it has {len(name)})")
    return name


def create_key(session: DbSession, name: str, now: datetime) -> tuple[ApiKey, str]:
    """A new key: the row (with its public prefix) and the key itself, which is never stored."""
    name = check_name(name)
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name, prefix=prefix, key_hash=_hash(key), created_at=now)
    session.add(row)
    session.flush()
    return row, key


def prefix_of(key: str | None) -> str | None:
    """The public prefix of something shaped like one of our keys (as ``api-key list`` shows it), else None."""
    if not key or not _KEY_SHAPE.fullmatch(key):
        return None
    return key[len(KEY_PREFIX):].split("_", 1)[0]


def check_key(session: DbSession, key: str | None, now: datetime) -> ApiKey | None:
    """The live key row matching ``key``, or None; the comparison takes the same time either way."""
    prefix = prefix_of(key)
    if key is None or prefix is None:
        hmac.compare_digest(_DUMMY_HASH, _DUMMY_HASH)
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
    expected = row.key_hash if row is not None else _DUMMY_HASH
    if not hmac.compare_digest(expected, _hash(key)) or row is None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        # Not on every request: on SQLite each write takes the one write lock the webhook intake needs.
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
    return row


def revoke_key(session: DbSession, prefix: str, now: datetime) -> ApiKey:
    """Revoke the key with this prefix (as ``api-key list`` shows it)."""
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        raise NotFound("apiKey", f"no API key with prefix {prefix!r}")
    if row.revoked_at is None:
        row.revoked_at = now
    return row


def list_keys(session: DbSession) -> list[ApiKey]:
    """Every key, oldest first (never the keys themselves)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def live_key(session: DbSession, key_id: int | None) -> ApiKey | None:
    """The key with this id if it is not revoked (an admin session ends when its key is revoked)."""
    if key_id is None:
        return None
    return session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)))
