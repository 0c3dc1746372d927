"""Standard Webhooks signatures, as Formbricks (4.6+) sends them: a pure check over the raw body.

The signed content is ``{webhook-id}.{webhook-timestamp}.{raw body}``; the key is the base64 part of a
``whsec_`` secret; ``webhook-signature`` holds space-separated ``v1,<base64 HMAC-SHA256>`` entries.
Nothing here parses JSON: ``webhooks.payload`` is called only on a body that has verified.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES = 24  # the Standard Webhooks spec asks for 24 to 64 bytes; Formbricks makes 32
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"

# Bounds on what we read at all, so a hostile header costs nothing. Unix seconds have 10 digits until 2286.
_MAX_ID = 256
_MAX_TIMESTAMP = 32  # longer than the regex allows, so a millisecond timestamp is named as such
_MAX_SIGNATURE_HEADER = 4096
# ``[0-9]`` and ``[!-~]`` are ASCII only; ``int()`` alone would accept '١٢٣', '+5', ' 5', '1_0'.
_TIMESTAMP_RE = re.compile(r"[0-9]{1,15}")
_ID_RE = re.compile(r"[!-~]+")  # printable ASCII without spaces
_B64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")


class SignatureError(Exception):
    """Raised when a delivery is not authentic; ``status`` is 400 (malformed header) or 401 (not verified).

    ``reason`` is a short code for logs: ``missing-header``, ``malformed-header``, ``no-matching-signature``
    or ``timestamp-out-of-tolerance``. Messages never contain a secret or a computed signature.
    """

    def __init__(self, message: str, *, status: int, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedDelivery:
    """What a verified delivery's headers said: its id (dedupe on it) and its unix timestamp."""

    webhook_id: str
    timestamp: int


def parse_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; ValueError (without the secret) when malformed."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"webhook secret must be a string starting with {SECRET_PREFIX!r}")
    encoded = secret[len(SECRET_PREFIX) :]
    encoded += "=" * (-len(encoded) % 4)  # accept unpadded base64, as the reference libraries do
    if not _B64_RE.fullmatch(encoded):
        raise ValueError("webhook secret: the part after 'whsec_' is not standard base64 (check for spaces)")
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("webhook secret: the part after 'whsec_' is not valid base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"webhook secret is too short: {len(key)} bytes, at least {MIN_KEY_BYTES} needed")
    return key


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        if not secret:
            raise ValueError("webhook secret key is empty")
        return secret
    return parse_secret(secret)


def _mac(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> bytes:
    return hmac.new(key, f"{webhook_id}.{timestamp}.".encode("ascii") + body, hashlib.sha256).digest()


def sign(webhook_id: str, timestamp: int, body: bytes, secret: str | bytes) -> str:
    """The ``webhook-signature`` header value a sender holding ``secret`` would send."""
    mac = _mac(_key(secret), webhook_id, str(int(timestamp)), body)
    return "v1," + base64.b64encode(mac).decode("ascii")


def _malformed(message: str) -> SignatureError:
    return SignatureError(message, status=400, reason="malformed-header")


def _signing_headers(headers: Mapping[str, str]) -> dict[str, list[str]]:
    """The values of the three signing headers, by lower-case name, in one pass over the headers."""
    found: dict[str, list[str]] = {ID_HEADER: [], TIMESTAMP_HEADER: [], SIGNATURE_HEADER: []}
    for key, value in headers.items():
        if isinstance(key, str):
            values = found.get(key.lower())
            if values is not None:
                values.append(value)
    return found


def _header(found: dict[str, list[str]], name: str, limit: int) -> str:
    """One header by lower-case name; rejected when absent, duplicated, empty, too long or non-ASCII."""
    values = found[name]
    if not values:
        raise SignatureError(f"{name} header is missing", status=400, reason="missing-header")
    if len(values) > 1:
        raise _malformed(f"{name} header is given more than once")
    value = values[0]
    if not isinstance(value, str):
        raise _malformed(f"{name} header is not text")
    if not value:
        raise _malformed(f"{name} header is empty")
    if len(value) > limit:
        raise _malformed(f"{name} header is longer than {limit} characters")
    if not value.isascii():
        raise _malformed(f"{name} header is not ASCII")
    return value


def _candidates(header: str) -> list[bytes]:
    """The decoded ``v1`` signatures of the header; other versions and malformed entries are skipped."""
    found = []
    for entry in header.split(" "):
        version, comma, encoded = entry.partition(",")
        if version != "v1" or not comma or not _B64_RE.fullmatch(encoded):
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:  # right alphabet, wrong length or padding
            continue
    return found


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str | bytes],
    *,
    now: float,
    tolerance: int = 300,
) -> VerifiedDelivery:
    """Check a delivery's signature and timestamp over the raw body; SignatureError if it is not authentic.

    ``secrets`` are ``whsec_`` strings or keys from ``parse_secret``; parse them at start-up so a malformed
    one stops the app there (here it would be a ValueError, that is a 500, on every delivery).
    """
    if isinstance(secrets, str | bytes) or not secrets:
        raise ValueError("secrets must be a non-empty list of secrets (a bare string is not a list)")
    keys = [_key(secret) for secret in secrets]
    found = _signing_headers(headers)
    webhook_id = _header(found, ID_HEADER, _MAX_ID)
    if not _ID_RE.fullmatch(webhook_id):
        raise _malformed(f"{ID_HEADER} header contains spaces or control characters")
    timestamp = _header(found, TIMESTAMP_HEADER, _MAX_TIMESTAMP)
    if not _TIMESTAMP_RE.fullmatch(timestamp):
        raise _malformed(f"{TIMESTAMP_HEADER} header is not whole unix seconds")
    signatures = _candidates(_header(found, SIGNATURE_HEADER, _MAX_SIGNATURE_HEADER))
    if not signatures:
        raise _malformed(f"{SIGNATURE_HEADER} header has no well-formed v1 entry")

    # The timestamp is signed exactly as sent; any secret (rotation) and any v1 entry may match.
    expected = [_mac(key, webhook_id, timestamp, bytes(body)) for key in keys]
    if not any(hmac.compare_digest(mac, candidate) for mac in expected for candidate in signatures):
        raise SignatureError(
            "no signature matches any configured secret", status=401, reason="no-matching-signature"
        )
    # Checked after the signature (as Stripe does), so the message speaks only of authentic deliveries.
    skew = now - int(timestamp)
    if abs(skew) > tolerance:
        when = "old" if skew > 0 else "in the future"
        raise SignatureError(
            f"timestamp is {abs(int(skew))} s {when}, tolerance is {tolerance} s",
            status=401,
            reason="timestamp-out-of-tolerance",
        )
    return VerifiedDelivery(webhook_id=webhook_id, timestamp=int(timestamp))
