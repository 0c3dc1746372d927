"""One-time tickets of anonymous surveys: random, carried in the hidden field instead of the link's token.

A ticket is ``t_`` and 43 URL-safe characters (256 random bits), so it survives the host's query decoding and
is never mistaken for a link token (a token has a dot). The sidecar stores only a keyed hash of it: HMAC-SHA256
under a key derived from the secret key, so neither a copy of the database alone nor the host, which sees the
ticket, can compute the hash. Keys rotate like the token keys: the newest hashes, every key is tried on lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from typing import TypeGuard

SALT = b"personal-links.anonymous-ticket.v1"
PREFIX = "t_"
TICKET = re.compile(r"t_[A-Za-z0-9_-]{43}")
# What the sidecar writes over a ticket in the host's response (the host merges data: a key cannot be removed).
PLACEHOLDER = "anonymous"


def is_ticket(value: object) -> TypeGuard[str]:
    """Whether a hidden field value is shaped like one of our tickets."""
    return isinstance(value, str) and TICKET.fullmatch(value) is not None


class Tickets:
    """Makes tickets and their hashes with a list of keys: the last (the current secret key) hashes, all find."""

    def __init__(self, secret_key: str, fallbacks: Sequence[str] = ()) -> None:
        keys = [*fallbacks, secret_key]
        self._keys = [hmac.digest(key.encode("utf-8"), SALT, "sha256") for key in reversed(keys)]

    @staticmethod
    def new() -> str:
        """A fresh ticket."""
        return PREFIX + secrets.token_urlsafe(32)

    def hash(self, ticket: str) -> str:
        """The stored form of a ticket (newest key)."""
        return hmac.new(self._keys[0], ticket.encode("ascii"), "sha256").hexdigest()

    def candidates(self, ticket: str) -> list[str]:
        """The ticket's hash under every key, newest first: a ticket made before a key rotation is still found."""
        return [hmac.new(key, ticket.encode("ascii"), hashlib.sha256).hexdigest() for key in self._keys]
