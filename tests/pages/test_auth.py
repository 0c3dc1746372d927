"""Signing in and out of the admin pages, the session cookie, CSRF refusals, revoked keys."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from plugin import create_app
from plugin.db import db
from plugin.models import ApiKey
from plugin.services.admin.api_keys import revoke_key
from tests.helpers import NOW, base_config
from tests.pages.support import csrf_of


def test_pages_need_sign_in(client: FlaskClient) -> None:
    response = client.get("/admin/surveys")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/sign-in?next=/admin/surveys"


def test_sign_in_sets_a_hardened_cookie_holding_no_key(client: FlaskClient, api_key: str) -> None:
    token = csrf_of(client.get("/admin/sign-in").get_data(as_text=True))
    response = client.post("/admin/sign-in", data={"api_key": api_key, "csrf_token": token,
                                                   "next": "/admin/surveys/survey-1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/surveys/survey-1"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie  # PUBLIC_URL is https
    assert api_key not in cookie and api_key.split("_", 2)[2] not in cookie  # the secret part
    assert client.get("/admin/surveys").status_code == 200


def test_wrong_key_is_refused(client: FlaskClient, api_key: str) -> None:
    token = csrf_of(client.get("/admin/sign-in").get_data(as_text=True))
    response = client.post("/admin/sign-in", data={"api_key": api_key + "x", "csrf_token": token})
    assert response.status_code == 401
    assert "not a live admin API key" in response.get_data(as_text=True)
    assert client.get("/admin/surveys").status_code == 302


def test_next_never_leaves_the_admin_pages(client: FlaskClient, api_key: str) -> None:
    token = csrf_of(client.get("/admin/sign-in").get_data(as_text=True))
    response = client.post("/admin/sign-in", data={"api_key": api_key, "csrf_token": token,
                                                   "next": "//evil.example.com/admin/"})
    assert response.headers["Location"] == "/admin/surveys"


def test_forms_without_the_csrf_token_are_refused(client: FlaskClient, api_key: str) -> None:
    client.get("/admin/sign-in")
    response = client.post("/admin/sign-in", data={"api_key": api_key})
    assert response.status_code == 400
    assert "Form refused" in response.get_data(as_text=True)
    assert client.get("/admin/surveys").status_code == 302


def test_a_signed_in_form_with_a_forged_token_changes_nothing(admin: FlaskClient) -> None:
    response = admin.post("/admin/sign-out", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert admin.get("/admin/surveys").status_code == 200


def test_sign_out_ends_the_session(admin: FlaskClient) -> None:
    token = csrf_of(admin.get("/admin/surveys").get_data(as_text=True))
    assert admin.post("/admin/sign-out", data={"csrf_token": token}).status_code == 302
    assert admin.get("/admin/surveys").status_code == 302


def test_a_revoked_key_ends_the_session_at_the_next_request(admin: FlaskClient) -> None:
    revoke_key(db.session, db.session.query(ApiKey).one().prefix, NOW)
    db.session.commit()
    response = admin.get("/admin/surveys", follow_redirects=True)
    assert "session ended because its API key was revoked" in response.get_data(as_text=True)
    assert admin.get("/admin/surveys").status_code == 302


def test_admin_pages_are_not_cached_or_framed(admin: FlaskClient) -> None:
    response = admin.get("/admin/surveys")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_cookie_is_secure_only_on_https_and_lasts_the_configured_hours(sqlite_url: str) -> None:
    app = create_app(base_config(sqlite_url, PUBLIC_URL="http://127.0.0.1:5000", ADMIN_SESSION_HOURS="2"))
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax" and app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.permanent_session_lifetime == timedelta(hours=2)
