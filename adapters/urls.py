"""The one rule for every URL the sidecar stores, sends people to or calls.

Survey URLs (respondents are redirected there), event subscription URLs (we post to them), the sidecar's public
URL and the host's URLs (settings) all pass ``check_url``. ``urllib.parse`` alone is too lenient to be the rule:
it raises ``ValueError`` for ``http://[::1`` (a 500 wherever nobody caught it), takes ``http://[::1]]/`` for the
host ``::1``, and keeps CR/LF that would then reach a ``Location`` header. Callers put the field's or the
setting's name in front of the message of ``BadUrl``.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_LENGTH = 2048  # the column every stored URL lives in
_CHARACTERS = re.compile(r"[!-~]+")  # printable ASCII: no spaces, no C0/C1 control characters, no DEL
_HOST_PORT = re.compile(r"(?P<host>\[[^\[\]]*\]|[^\[\]:]*)(?::(?P<port>[^:]*))?")
_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?")  # DNS names, IPv4 addresses, Docker service names
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")  # no zone id: a browser would not follow it either


class BadUrl(ValueError):
    """Raised by ``check_url``; the message says what is wrong, written to follow a field or setting name."""


def check_url(url: str) -> str:
    """``url`` itself when it is an absolute http(s) URL with a valid host, an optional port from 1 to 65535,
    no user name or password, no fragment and only printable ASCII; BadUrl otherwise."""
    if len(url) > MAX_LENGTH:
        raise BadUrl(f"longer than {MAX_LENGTH} characters")
    if not _CHARACTERS.fullmatch(url):
        raise BadUrl("holds spaces, control or non-ASCII characters (percent-encode them)")
    try:
        parts = urlsplit(url)
    except ValueError:  # unbalanced brackets: http://[::1
        raise BadUrl(_NO_VALID_HOST) from None
    if parts.scheme not in ("http", "https") or not url.lower().startswith(f"{parts.scheme}://"):
        raise BadUrl("must start with http:// or https://")
    if "@" in parts.netloc:
        raise BadUrl("must not hold a user name or password")
    _check_host_port(parts.netloc)
    if parts.fragment or url.endswith("#"):
        raise BadUrl("must not hold a fragment (#...)")
    return url


_NO_VALID_HOST = "names no valid host: use a name such as forms.example.com or an address such as [::1]"


def _check_host_port(netloc: str) -> None:
    """The host is a name, an IPv4 address or a bracketed IPv6 address; the port, when given, is 1 to 65535."""
    found = _HOST_PORT.fullmatch(netloc)
    if found is None:
        raise BadUrl(_NO_VALID_HOST)
    host, port = found["host"], found["port"]
    if not host:
        raise BadUrl("names no host")
    if host.startswith("["):
        if not _IPV6.fullmatch(host[1:-1]) or not _is_ipv6(host[1:-1]):
            raise BadUrl(_NO_VALID_HOST)
    elif not _NAME.fullmatch(host):
        raise BadUrl(_NO_VALID_HOST)
    if port is not None and not (port.isdigit() and len(port) <= 5 and 0 < int(port) <= 65535):
        raise BadUrl("has a port that is not a number from 1 to 65535")


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True
