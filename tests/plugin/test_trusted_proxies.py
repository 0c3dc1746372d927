"""PERSONAL_LINKS_TRUSTED_PROXIES: how many reverse proxies' X-Forwarded-For entries decide the client's address
(werkzeug's ProxyFix), which the auth throttle counts under. Off (0) by default: the header is ignored."""

from __future__ import annotations

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from plugin import create_app
from plugin.config import ConfigError
from plugin.db import db
from plugin.models import AuthFailure
from tests.helpers import base_config
from tests.servers import serve_in_thread

SURVEYS = "/api/personal-links/v1/surveys"
WRONG = ("plk_abcdefgh_" + "x" * 43, "plk_bcdefghi_" + "x" * 43, "plk_cdefghij_" + "x" * 43)  # three prefixes


def _wrong(base: str, key: str, forwarded: str) -> int:
    return requests.get(base + SURVEYS, headers={"x-api-key": key, "X-Forwarded-For": forwarded},
                        timeout=10).status_code


def _counted() -> set[str]:
    return {client for client in db.session.scalars(select(AuthFailure.client)) if not client.startswith("key:")}


@pytest.mark.settings(AUTH_FAILURE_LIMIT=2, TRUSTED_PROXIES=1)
def test_behind_a_trusted_proxy_x_forwarded_for_decides_the_address(app: Flask, api_headers) -> None:
    with serve_in_thread(app) as base:  # the test is the proxy: it connects from 127.0.0.1
        assert _wrong(base, WRONG[0], "198.51.100.7") == 401
        assert _wrong(base, WRONG[1], "192.0.2.1, 198.51.100.7") == 401  # what the client itself said is ignored
        assert _wrong(base, WRONG[2], "198.51.100.7") == 429
        assert _wrong(base, WRONG[2], "198.51.100.8") == 401  # another client behind the same proxy
        assert _counted() == {"198.51.100.7", "198.51.100.8"}
        good = requests.get(base + SURVEYS, headers={**api_headers, "X-Forwarded-For": "198.51.100.7"}, timeout=10)
    assert good.status_code == 200
    db.session.rollback()
    assert _counted() == {"198.51.100.8"}  # the owner's success cleared its own address's count only


@pytest.mark.settings(AUTH_FAILURE_LIMIT=2)
def test_without_the_setting_x_forwarded_for_is_ignored(app: Flask) -> None:
    assert app.config["TRUSTED_PROXIES"] == 0
    with serve_in_thread(app) as base:
        assert _wrong(base, WRONG[0], "198.51.100.7") == 401
        assert _wrong(base, WRONG[1], "198.51.100.8") == 401
        assert _wrong(base, WRONG[2], "198.51.100.9") == 429  # a forged header does not make a new client
    assert _counted() == {"127.0.0.1"}


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_a_wrong_number_of_proxies_stops_start_up(sqlite_url: str, value: str) -> None:
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES must be"):
        create_app(base_config(sqlite_url, TRUSTED_PROXIES=value))
