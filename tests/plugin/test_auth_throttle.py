"""Failed authentications are logged without the key and counted per client address and per presented key
prefix; past a limit wrong keys get 429 until the window ends, while a live key always gets in and a request
with no key at all is a plain 401. The counts are in the database, so two apps (processes) share them."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from plugin import create_app
from plugin.db import db
from plugin.models import AuthFailure
from plugin.services.admin import auth_throttle
from plugin.services.admin.api_keys import create_key
from tests.helpers import NOW, base_config
from tests.pages.support import csrf_of
from tests.servers import fresh_database, gunicorn

SURVEYS = "/api/personal-links/v1/surveys"
LIMIT, WINDOW = 3, 300
ONE, TWO = {"REMOTE_ADDR": "203.0.113.1"}, {"REMOTE_ADDR": "203.0.113.2"}
BAD = "plk_abcdefgh_" + "x" * 43
pytestmark = pytest.mark.settings(AUTH_FAILURE_LIMIT=LIMIT, AUTH_FAILURE_WINDOW_SECONDS=WINDOW)


@pytest.fixture
def other_app(app: Flask, database_url: str, clock) -> Flask:
    """A second app on the same database (as another server process would be), on the same clock."""
    second = create_app(base_config(database_url, AUTH_FAILURE_LIMIT=LIMIT, AUTH_FAILURE_WINDOW_SECONDS=WINDOW))
    second.extensions["personal_links"].clock = clock
    return second


def _get(app: Flask, client_env: dict[str, str], key: str | None, **headers: str):
    if key is not None:
        headers["x-api-key"] = key
    return app.test_client().get(SURVEYS, headers=headers, environ_base=client_env)


def _address(number: int) -> dict[str, str]:
    return {"REMOTE_ADDR": f"198.51.100.{number}"}


def test_two_apps_share_the_limit_and_the_api_answers_429(app, other_app, clock) -> None:
    for number in range(LIMIT):  # the failures alternate between the two "processes"
        assert _get(app if number % 2 == 0 else other_app, ONE, BAD).status_code == 401
    for target in (app, other_app):
        refused = _get(target, ONE, BAD)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(WINDOW)  # the clock stands at a window's start
        assert refused.get_json()["error"]["code"] == 429
        assert "too many failed authentications" in refused.get_json()["error"]["detail"]
    assert _get(other_app, TWO, "plk_wrong").status_code == 401  # another address is not affected (BAD's prefix is)
    clock.advance(seconds=WINDOW - 1)
    assert _get(other_app, ONE, BAD).headers["Retry-After"] == "1"
    clock.advance(seconds=1)
    assert _get(app, ONE, BAD).status_code == 401  # a new window


def test_a_live_key_always_gets_in_however_many_wrong_ones_its_address_sent(app, other_app, api_headers) -> None:
    good = api_headers["x-api-key"]
    answers = [_get(app if number % 2 else other_app, ONE, BAD).status_code for number in range(12)]
    assert answers == [401] * LIMIT + [429] * (12 - LIMIT)
    for target in (app, other_app):
        assert _get(target, ONE, good).status_code == 200
        assert _get(target, ONE, None, Authorization=f"Bearer {good}").status_code == 200


@pytest.mark.settings(AUTH_FAILURE_LIMIT=10)
def test_the_default_limit_never_keeps_the_owner_out(app, api_headers) -> None:
    assert app.config["AUTH_FAILURE_LIMIT"] == 10
    assert [_get(app, ONE, BAD).status_code for _ in range(12)][-1] == 429
    assert _get(app, ONE, api_headers["x-api-key"]).status_code == 200


def test_requests_without_a_key_are_a_plain_401_and_never_counted(app, other_app) -> None:
    for number in range(4 * LIMIT):
        target = app if number % 2 else other_app
        assert _get(target, ONE, None).status_code == 401
        assert _get(target, ONE, "").status_code == 401
        assert _get(target, ONE, None, Authorization="Basic dXNlcjpwYXNz").status_code == 401
        assert _get(target, ONE, None, Authorization="Bearer ").status_code == 401
    assert db.session.scalar(select(func.count()).select_from(AuthFailure)) == 0
    assert [_get(app, ONE, BAD).status_code for _ in range(LIMIT + 1)] == [401] * LIMIT + [429]


def test_guessing_one_keys_prefix_from_many_addresses_gets_429(app, api_headers) -> None:
    good = api_headers["x-api-key"]
    guess = good[:13] + "y" * 43  # the live key's public prefix, a wrong secret
    for number in range(LIMIT):
        assert _get(app, _address(number), guess).status_code == 401
    assert _get(app, _address(LIMIT), guess).status_code == 429  # a fresh address: the prefix is counted
    assert _get(app, _address(LIMIT), BAD).status_code == 401  # another prefix is not affected
    assert _get(app, _address(LIMIT + 1), good).status_code == 200  # the owner is never refused


def test_a_success_clears_only_its_own_clients_count(app, other_app, api_headers) -> None:
    good = api_headers["x-api-key"]
    for _ in range(LIMIT - 1):
        assert _get(app, ONE, BAD).status_code == 401
        assert _get(app, TWO, "plk_wrong").status_code == 401
    assert _get(other_app, TWO, good).status_code == 200  # TWO's count is cleared ...
    assert _get(app, TWO, "plk_wrong").status_code == 401
    assert _get(app, ONE, "plk_wrong").status_code == 401  # ... ONE's is not: this was its last allowed failure
    assert _get(other_app, ONE, "plk_wrong").status_code == 429
    assert _get(app, TWO, "plk_wrong").status_code == 401


def test_failures_are_logged_without_the_key(app, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="plugin.services.admin.auth_throttle"):
        for _ in range(LIMIT):
            _get(app, ONE, BAD)
        _get(app, TWO, None)
    text = caplog.text
    assert BAD not in text and BAD[13:30] not in text and "abcdefgh" not in text
    assert "an unknown or revoked API key on GET '/api/personal-links/v1/surveys', client 203.0.113.1" in text
    assert "203.0.113.2" not in text  # no key is no failed authentication
    assert "client 203.0.113.1 is refused for 300 s after 3 failed authentications" in text


def _sign_in(app: Flask, client_env: dict[str, str], key: str):
    browser = app.test_client()
    token = csrf_of(browser.get("/admin/sign-in", environ_base=client_env).get_data(as_text=True))
    return browser.post("/admin/sign-in", data={"api_key": key, "csrf_token": token}, environ_base=client_env)


def test_the_sign_in_page_refuses_wrong_keys_after_repeated_failures(app, other_app, api_headers) -> None:
    good = api_headers["x-api-key"]
    for _ in range(LIMIT - 1):
        assert _sign_in(app, ONE, BAD).status_code == 401
    last = _sign_in(other_app, ONE, BAD)
    assert last.status_code == 429 and last.headers["Retry-After"] == str(WINDOW)
    assert last.mimetype == "text/html"
    page = last.get_data(as_text=True)
    assert "wrong keys are refused for 5 minutes" in page and "A live admin API key still signs you in" in page
    assert _sign_in(app, ONE, BAD).status_code == 429
    assert _get(app, ONE, BAD).status_code == 429  # the API shares the count with the sign-in
    signed_in = _sign_in(app, ONE, good)  # the owner, from the very address that failed
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/admin/surveys"


def test_an_empty_sign_in_is_not_counted(app) -> None:
    for _ in range(2 * LIMIT):
        assert _sign_in(app, ONE, "").status_code == 401
    assert db.session.scalar(select(func.count()).select_from(AuthFailure)) == 0


def test_old_windows_are_deleted_as_failures_come(app, clock) -> None:
    limits = auth_throttle.Limits(LIMIT, timedelta(seconds=WINDOW))
    auth_throttle.record_failure(db.session, ["a"], NOW, limits, "test")
    clock.advance(seconds=WINDOW)
    auth_throttle.record_failure(db.session, ["b"], clock.now(), limits, "test")
    db.session.commit()
    assert [(row.client, row.failures) for row in db.session.query(AuthFailure)] == [("b", 1)]


def test_the_window_is_aligned_the_same_in_every_process() -> None:
    limits = auth_throttle.Limits(LIMIT, timedelta(seconds=WINDOW))
    start = auth_throttle.window_start(NOW + timedelta(seconds=299), limits)
    assert start == auth_throttle.window_start(NOW, limits) == NOW  # NOW is on a five-minute boundary
    assert auth_throttle.window_start(NOW - timedelta(seconds=1), limits) == NOW - timedelta(seconds=WINDOW)


def test_a_second_key_holder_is_not_affected(app, api_headers) -> None:
    _, other = create_key(db.session, "other", NOW)
    db.session.commit()
    for _ in range(LIMIT):
        _get(app, ONE, BAD)
    assert _get(app, TWO, other).status_code == 200


def test_openapi_documents_the_429(client) -> None:
    responses = client.get("/openapi.json").get_json()["paths"][SURVEYS]["get"]["responses"]
    assert "Retry-After" in responses["429"]["headers"]


@pytest.mark.servers
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_gunicorn_workers_share_the_limit_and_let_the_owner_in(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        setup = create_app(base_config(url))
        with setup.app_context():
            _, good = create_key(db.session, "ops", NOW)
            db.session.commit()
            db.engine.dispose()
        # a window of years: the real clock cannot cross into the next window during the test
        settings = {"AUTH_FAILURE_LIMIT": str(LIMIT), "AUTH_FAILURE_WINDOW_SECONDS": str(10**8)}
        with gunicorn(url, tmp_path, workers=2, settings=settings) as base:
            assert requests.get(base + SURVEYS, headers={"x-api-key": good}, timeout=10).status_code == 200
            for _ in range(LIMIT):  # a new connection each: the workers take turns
                assert requests.get(base + SURVEYS, headers={"x-api-key": BAD}, timeout=10).status_code == 401
            refused = [requests.get(base + SURVEYS, headers={"x-api-key": BAD}, timeout=10) for _ in range(6)]
            owner = [requests.get(base + SURVEYS, headers={"x-api-key": good}, timeout=10) for _ in range(6)]
    assert [answer.status_code for answer in refused] == [429] * 6
    assert all(0 < int(answer.headers["Retry-After"]) <= 10**8 for answer in refused)
    assert [answer.status_code for answer in owner] == [200] * 6
