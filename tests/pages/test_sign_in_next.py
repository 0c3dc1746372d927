"""The sign-in page's ``next``: only an admin path of this site, and never one that cannot be a Location header
(a CR or LF in a crafted sign-in link made every sign-in through it a 500, after the session was set)."""

from __future__ import annotations

import re

import pytest
import requests
from flask import Flask

from tests.servers import serve_in_thread

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
UNSAFE = ["/admin/surveys\r\nSet-Cookie: planted=1", "/admin/surveys\nX: y", "/admin/surveys\rX", "/admin/\tsurveys",
          "/admin/surveys\x7f", "/admin/surveys\x1b]0;title\x07", "/admin/surveys\u2028x", "//evil.example.com/admin/",
          "/admin/\\evil", "https://evil.example.com/admin/"]
pytestmark = pytest.mark.settings(PUBLIC_URL="http://127.0.0.1:5000")  # the session cookie is sent over http


def _signed_in(base: str, key: str, next_: str) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    form = browser.get(f"{base}/admin/sign-in", params={"next": next_}, timeout=10)
    assert form.status_code == 200
    token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    answer = browser.post(f"{base}/admin/sign-in", data={"api_key": key, "csrf_token": token, "next": next_},
                          allow_redirects=False, timeout=10)
    return browser, answer


@pytest.mark.parametrize("next_", UNSAFE)
def test_an_unsafe_next_is_dropped_and_the_sign_in_works(app: Flask, api_key: str, next_: str) -> None:
    with serve_in_thread(app) as base:
        browser, answer = _signed_in(base, api_key, next_)
        assert answer.status_code == 302 and answer.headers["Location"] == "/admin/surveys"
        assert "planted" not in answer.headers.get("Set-Cookie", "")
        assert browser.get(f"{base}/admin/surveys", allow_redirects=False, timeout=10).status_code == 200
        again = browser.get(f"{base}/admin/sign-in", params={"next": next_}, allow_redirects=False, timeout=10)
        assert again.status_code == 302 and again.headers["Location"] == "/admin/surveys"  # signed in already


def test_a_safe_next_is_kept_over_http(app: Flask, api_key: str) -> None:
    with serve_in_thread(app) as base:
        _, answer = _signed_in(base, api_key, "/admin/surveys/survey-1?tab=links%0A")
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/surveys/survey-1?tab=links%0A"
