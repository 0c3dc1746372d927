"""Link tokens: short, URL-safe, signed with itsdangerous, bound to their survey, no personal data.

A token is ``<link id in base 62>.<signature>``; the signature covers the survey id as well, so a token
opens only the link of its own survey. The same link always gives the same token (a CSV can be downloaded
again). Keys rotate: the newest key signs, every key in the list still verifies.
Only ``[A-Za-z0-9._-]`` appear, so the token survives the host's query decoding unchanged.

Each token has exactly one spelling: the signature is compared as text with the canonical one, not decoded
first (a 32-byte HMAC is 43 base64 characters, and the last one carries two unused bits, so decoding would let
several spellings of it through). Keys are derived once, then each token costs one ``hmac.digest``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence

from itsdangerous import Signer

SALT = "personal-links.link-token.v1"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TOKEN_RE = re.compile(r"^([0-9A-Za-z]{1,11})\.([A-Za-z0-9_-]{20,64})$")
MAX_ID = 2**31 - 1  # row ids are INTEGER columns (32-bit on PostgreSQL): a larger claim is no token of ours


class InvalidToken(Exception):
    """Raised when a token is malformed or its signature does not verify for the survey given."""


def encode_id(number: int) -> str:
    """The base-62 spelling of a non-negative integer."""
    if number < 0:
        raise ValueError("negative id")
    digits = []
    while True:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
        if number == 0:
            return "".join(reversed(digits))


def decode_id(text: str) -> int:
    """The integer of a base-62 spelling."""
    number = 0
    for char in text:
        number = number * 62 + ALPHABET.index(char)
    return number


class LinkTokens:
    """Signs and reads link tokens with a list of keys: the last signs, all verify."""

    def __init__(self, secret_key: str, fallbacks: Sequence[str] = ()) -> None:
        signer = Signer([*fallbacks, secret_key], salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256)
        # itsdangerous derives each key from the secret and the salt; the newest key signs, every key verifies.
        self._keys = [signer.derive_key(key) for key in reversed(signer.secret_keys)]

    @staticmethod
    def _signature(key: bytes, message: bytes) -> str:
        # itsdangerous' base64_encode: URL-safe base64 without padding
        return base64.urlsafe_b64encode(hmac.digest(key, message, "sha256")).rstrip(b"=").decode("ascii")

    @staticmethod
    def _message(link_id: str, survey_id: str) -> bytes:
        return f"{survey_id}\x00{link_id}".encode()

    def make(self, link_id: int, survey_id: str) -> str:
        """The token of a link."""
        return self.maker(survey_id)(link_id)

    def maker(self, survey_id: str, prefix: str = "") -> Callable[[int], str]:
        """``make`` for the links of one survey, each token after ``prefix``, with the key and the survey's part of
        the message ready: a bulk export signs a million tokens with it."""
        key, head, signature = self._keys[0], self._message("", survey_id), self._signature

        def make(link_id: int) -> str:
            encoded = encode_id(link_id)
            return f"{prefix}{encoded}.{signature(key, head + encoded.encode('ascii'))}"

        return make

    @staticmethod
    def peek(token: str) -> int:
        """The link id a token claims, unverified; InvalidToken when it is not even shaped like one."""
        match = _TOKEN_RE.match(token)
        if match is None:
            raise InvalidToken("malformed token")
        link_id = decode_id(match.group(1))
        if link_id > MAX_ID:
            raise InvalidToken("malformed token")
        return link_id

    def verify(self, token: str, survey_id: str) -> int:
        """The link id of a token whose signature verifies for ``survey_id``; InvalidToken otherwise."""
        link_id = self.peek(token)
        encoded, signature = token.split(".")
        if encode_id(link_id) != encoded:  # leading zeros: one id, one spelling
            raise InvalidToken("malformed token")
        message = self._message(encoded, survey_id)
        if not any(hmac.compare_digest(self._signature(key, message), signature) for key in self._keys):
            raise InvalidToken("bad signature")
        return link_id
