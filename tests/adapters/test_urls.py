"""The one URL rule: what it takes, and each hostile URL refused with what is wrong (never a bare ValueError)."""

from __future__ import annotations

import pytest

from adapters.urls import BadUrl, check_url


@pytest.mark.parametrize("url", [
    "https://forms.example.com/s/abc?lang=de", "http://127.0.0.1:3000/", "http://[::1]:8080/s/x", "http://[::1]",
    "HTTPS://Forms.Example.com/", "http://formbricks_app:3000/", "https://example.com./a%20b", "http://h:65535/",
])
def test_good_urls_pass_unchanged(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(("url", "said"), [
    ("http://[::1", "names no valid host"),
    ("http://[::1]]/", "names no valid host"),
    ("http://[::1]x/", "names no valid host"),
    ("http://::1/", "names no valid host"),
    ("http://a]b/", "names no valid host"),
    ("http://[zz]/", "names no valid host"),
    ("http://[1.2.3.4]/", "names no valid host"),
    ("http://[fe80::1%25eth0]/", "names no valid host"),
    ("http://a..b/", "names no valid host"),
    ("http://good.example\\.evil.example/", "names no valid host"),
    ("http://:80/", "names no host"),
    ("https://", "names no host"),
    ("http:host/", "must start with http:// or https://"),
    ("ftp://h/", "must start with http:// or https://"),
    ("javascript:alert(1)", "must start with http:// or https://"),
    ("http://h:0/", "has a port that is not a number from 1 to 65535"),
    ("http://h:65536/", "has a port that is not a number from 1 to 65535"),
    ("http://h:/", "has a port that is not a number from 1 to 65535"),
    ("http://h:8x/", "has a port that is not a number from 1 to 65535"),
    ("http://[::1]:99999/", "has a port that is not a number from 1 to 65535"),
    ("http://u:p@h/", "must not hold a user name or password"),
    ("http://good.example\\@evil.example/", "must not hold a user name or password"),
    ("http://h/#x", "must not hold a fragment"),
    ("http://h/#", "must not hold a fragment"),
    ("http://h/a\r\nSet-Cookie: x=1", "holds spaces, control or non-ASCII characters"),
    ("http://h/\n", "holds spaces, control or non-ASCII characters"),
    ("http://h/\x85", "holds spaces, control or non-ASCII characters"),
    ("http://h/\x7f", "holds spaces, control or non-ASCII characters"),
    ("http://h/\x1b]0;title\x07", "holds spaces, control or non-ASCII characters"),
    (" http://h/", "holds spaces, control or non-ASCII characters"),
    ("http://h/" + "a" * 2048, "longer than 2048 characters"),
])
def test_hostile_urls_are_refused_saying_why(url: str, said: str) -> None:
    with pytest.raises(BadUrl, match="^" + said.replace("\\", "\\\\")):
        check_url(url)
