"""The respondent pages over the test client: HTML with safe headers, the respondent's language, JSON for JSON
clients, a readable 503 while the database is down, and HEAD changing nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from plugin import public
from plugin.db import db
from plugin.models import AuditEvent, Link, Survey
from plugin.services.host.surveys import save_survey
from tests.helpers import NOW

BASE = "/api/v2/management/surveys/survey-1/contact-links/contacts/"
INVALID = "/c/1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def issue(client: FlaskClient, headers: dict[str, str], **params: str) -> tuple[str, int]:
    data = client.get(BASE + "c1", headers=headers, query_string=params).get_json()["data"]
    return urlsplit(data["surveyUrl"]).path, data["linkId"]


def text(response: Any) -> str:
    return response.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")


def assert_hardened_html(response: Any) -> None:
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "<style" not in response.get_data(as_text=True)  # the CSP allows no inline style


def set_language(language: str | None) -> None:
    db.session.get(Survey, "survey-1").language = language
    db.session.commit()


@pytest.fixture
def states(client: FlaskClient, seeded: Any, api_headers: dict[str, str]) -> dict[str, str]:
    """A link path in each state that does not redirect, on survey-1."""
    paths = {"invalid": INVALID}
    paths["pending"], _ = issue(client, api_headers, validFrom="2026-12-01")
    for state, contact in (("expired", "c2"), ("used", "c3"), ("revoked", "c4")):
        data = client.get(BASE + contact, headers=api_headers,
                          query_string={"expiresOn": "2026-11-29"}).get_json()["data"]
        paths[state] = urlsplit(data["surveyUrl"]).path
        link = db.session.get(Link, data["linkId"])
        if state == "expired":
            link.expires_at = NOW.replace(hour=0)
        elif state == "used":
            link.use_count = 1
        else:
            link.revoked_at = NOW
    db.session.commit()
    return paths


EXPECTED = {
    "invalid": (404, "This link is not valid", "Dieser Link ist ungültig"),
    "expired": (410, "It ended on November 28, 2026 at 12:00 AM UTC.",
                "Er ist am 28. November 2026 um 00:00 UTC abgelaufen."),
    "used": (410, "This survey has already been answered", "Diese Umfrage wurde bereits beantwortet"),
    "revoked": (410, "This link has been withdrawn", "Dieser Link wurde zurückgezogen"),
    "pending": (403, "It opens on December 1, 2026 at 12:00 AM UTC.", "Er gilt ab dem 1. Dezember 2026 um 00:00 UTC."),
}


@pytest.mark.parametrize("state", list(EXPECTED))
def test_each_state_is_a_hardened_html_page(client: FlaskClient, states: dict[str, str], state: str) -> None:
    response = client.get(states[state], headers={"Accept": "text/html,*/*;q=0.8"})
    status, english, _ = EXPECTED[state]
    assert response.status_code == status
    assert_hardened_html(response)
    assert english in text(response)
    assert response.headers["Content-Language"] == "en"


@pytest.mark.parametrize("state", list(EXPECTED))
def test_the_browsers_language_picks_the_text(client: FlaskClient, states: dict[str, str], state: str) -> None:
    response = client.get(states[state], headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
    assert EXPECTED[state][2] in text(response)
    assert '<html lang="de">' in text(response) and response.headers["Content-Language"] == "de"


def test_an_unshipped_browser_language_falls_back_to_english(client: FlaskClient, states: dict[str, str]) -> None:
    response = client.get(states["revoked"], headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert "This link has been withdrawn" in text(response)


def test_the_surveys_language_wins_over_the_browsers(client: FlaskClient, states: dict[str, str]) -> None:
    set_language("de")
    response = client.get(states["used"], headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Diese Umfrage wurde bereits beantwortet" in text(response)
    set_language("fr")  # not shipped: the browser's then
    assert "already been answered" in text(client.get(states["used"], headers={"Accept-Language": "en"}))
    assert "bereits beantwortet" in text(client.get(states["used"], headers={"Accept-Language": "de"}))


def test_json_clients_still_get_json_in_the_language(client: FlaskClient, states: dict[str, str]) -> None:
    response = client.get(states["expired"], headers={"Accept": "application/json", "Accept-Language": "de"})
    assert response.status_code == 410 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["state"] == "expired" and body["language"] == "de"
    assert body["title"] == "Dieser Link ist abgelaufen" and body["expiredAt"].startswith("2026-11-28T00:00:00")


def test_head_answers_like_get_and_changes_nothing(client: FlaskClient, states: dict[str, str],
                                                   api_headers: dict[str, str]) -> None:
    live, link_id = issue(client, api_headers)  # c1's current link (pending until 1 December)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for path in states.values():
        head = client.head(path)
        get = client.get(path)
        assert (head.status_code, head.headers["Content-Type"]) == (get.status_code, get.headers["Content-Type"])
        assert head.get_data() == b""
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert db.session.get(Link, link_id).open_count == 0


def test_database_down_is_a_readable_page_for_browsers(client: FlaskClient, seeded: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("SELECT", {}, Exception("could not connect to server: secret-host:5432"))

    monkeypatch.setattr(public, "open_link", down)
    page = client.get(INVALID, headers={"Accept": "text/html", "Accept-Language": "de"})
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert_hardened_html(page)
    assert "Bitte versuchen Sie es gleich noch einmal" in text(page)
    assert "secret-host" not in text(page) and "database" not in text(page).lower()
    json = client.get(INVALID, headers={"Accept": "application/json"})
    assert json.status_code == 503 and json.headers["Retry-After"] == "5"
    assert json.get_json()["error"]["detail"] == "the database is unavailable; try again shortly"


def test_database_down_on_the_api_stays_json_for_any_client(client: FlaskClient, api_headers: dict[str, str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from plugin.services.host import surveys

    def down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("SELECT", {}, Exception("down"))

    monkeypatch.setattr(surveys, "list_surveys", down)
    answer = client.get("/api/personal-links/v1/surveys", headers={**api_headers, "Accept": "text/html"})
    assert answer.status_code == 503 and answer.mimetype == "application/json"


def test_the_demo_survey_page_is_hardened_html(app: Any, client: FlaskClient) -> None:
    app.config["DEMO"] = True  # only the view's switch: the DEMO setting would also make an instance folder
    response = client.get("/demo/s/demo-survey?plink=abc.def")
    assert response.status_code == 200
    assert_hardened_html(response)
    assert "Demo survey" in text(response) and "abc.def" in text(response)


def test_the_demo_survey_form_applies_a_finished_response_like_the_host_webhook(
        app: Any, client: FlaskClient, seeded: Any, api_headers: dict[str, str]) -> None:
    app.config["DEMO"] = True
    data = client.get("/api/v2/management/surveys/survey-1/contact-links/contacts/c1", headers=api_headers).get_json()
    token = data["data"]["surveyUrl"].rsplit("/", 1)[1]
    before = client.get("/api/personal-links/v1/surveys/survey-1/non-respondents", headers=api_headers).get_json()
    assert "c1" in [row["contactId"] for row in before["data"]]
    response = client.post("/demo/s/survey-1", data={"plink": token})
    assert response.status_code == 200
    assert_hardened_html(response)
    assert "Answer sent" in text(response) and "attributed" in text(response)
    after = client.get("/api/personal-links/v1/surveys/survey-1/non-respondents", headers=api_headers).get_json()
    assert "c1" not in [row["contactId"] for row in after["data"]]
    forged = client.post("/demo/s/survey-1", data={"plink": token[:-2] + "xx"})
    assert forged.status_code == 200 and "unattributed" in text(forged)


def test_the_demo_survey_form_completes_an_anonymous_surveys_link_by_its_ticket(
        app: Any, client: FlaskClient, seeded: Any, api_headers: dict[str, str]) -> None:
    """The demo form applies a response with the webhook's own rules, tickets included: an anonymous survey's
    link, opened, carries a ticket; answering through the form completes it (it was left unmatched before)."""
    app.config["DEMO"] = True
    data = client.get("/api/v2/management/surveys/survey-1/contact-links/contacts/c1", headers=api_headers).get_json()
    path = urlsplit(data["data"]["surveyUrl"]).path
    db.session.get(Survey, "survey-1").anonymous = True
    db.session.commit()
    ticket = parse_qs(urlsplit(client.get(path).headers["Location"]).query)["plink"][0]
    response = client.post("/demo/s/survey-1", data={"plink": ticket})
    assert response.status_code == 200 and "completed" in text(response)
    db.session.expire_all()
    assert db.session.get(Link, data["data"]["linkId"]).use_count == 1


def test_the_demo_survey_form_is_not_there_outside_demo_mode(client: FlaskClient) -> None:
    assert client.post("/demo/s/survey-1", data={"plink": "abc.def"}).status_code == 404


def test_favicon(client: FlaskClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/x-icon"
    assert response.get_data()[:4] == b"\x00\x00\x01\x00"  # an ICO file's header


def test_a_survey_language_is_set_by_put_and_refused_when_malformed(client: FlaskClient, seeded: Any,
                                                                    api_headers: dict[str, str]) -> None:
    url = "/api/personal-links/v1/surveys/survey-1"
    answer = client.put(url, json={"language": "de"}, headers=api_headers)
    assert answer.status_code == 200 and answer.get_json()["data"]["language"] == "de"
    refused = client.put(url, json={"language": "<script>"}, headers=api_headers)
    assert refused.status_code == 422 and refused.get_json()["error"]["details"][0]["field"] == "language"
    assert client.put(url, json={"name": "Renamed"}, headers=api_headers).get_json()["data"]["language"] == "de"
    assert client.put(url, json={"language": None}, headers=api_headers).get_json()["data"]["language"] is None
    save_survey(db.session, "survey-1", {"language": "pt-BR"}, NOW, "plink", source="formbricks")  # the host's
    assert db.session.get(Survey, "survey-1").language == "pt-BR"


@pytest.mark.parametrize("path", ["/c/", "/c"])
def test_a_link_cut_before_its_token_gets_the_invalid_page(client: FlaskClient, seeded: Any, path: str) -> None:
    """A mail client that cut the link after ``/c/`` (or before the slash): the respondent page, not a bare 404."""
    english = client.get(path, headers={"Accept": "text/html", "Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 404
    assert_hardened_html(english)
    assert "This link is not valid" in text(english) and "Check that you copied the whole link." in text(english)
    german = client.get(path, headers={"Accept": "text/html", "Accept-Language": "de-DE,de;q=0.9"})
    assert german.status_code == 404 and german.headers["Content-Language"] == "de"
    assert "Dieser Link ist ungültig" in text(german) and '<html lang="de">' in text(german)
    json = client.get(path, headers={"Accept": "application/json"})
    assert json.status_code == 404 and json.get_json()["state"] == "invalid"
    head = client.head(path)
    assert head.status_code == 404 and head.get_data() == b""


NAMED = {"en": "Survey “Survey one”", "de": "Umfrage „Survey one“"}
UNKNOWN = {"en": "No survey is known for this link, so this page cannot say which survey it was for.",
           "de": "Zu diesem Link ist keine Umfrage bekannt; diese Seite kann daher nicht sagen, für welche Umfrage "
                 "er gedacht war."}


@pytest.mark.parametrize("language", ["en", "de"])
def test_each_state_page_names_its_survey(client: FlaskClient, states: dict[str, str], language: str) -> None:
    """A person who opens an old link learns which survey it was; a link of no known survey says so plainly."""
    for state, path in states.items():
        shown = text(client.get(path, headers={"Accept-Language": language}))
        if state == "invalid":
            assert UNKNOWN[language] in shown and "Survey one" not in shown, state
        else:
            assert NAMED[language] in shown and UNKNOWN[language] not in shown, state
            assert " · Survey one</title>" in shown, state  # a tab or a bookmark names it too
        assert " from " not in shown and " von " not in shown  # no sender is set


@pytest.mark.settings(SENDER_NAME="Example Research & Co")
@pytest.mark.parametrize("language", ["en", "de"])
def test_the_pages_name_the_sender_when_one_is_set(client: FlaskClient, states: dict[str, str],
                                                   language: str) -> None:
    sent = {"en": "Survey “Survey one” from Example Research &amp; Co",
            "de": "Umfrage „Survey one“ von Example Research &amp; Co"}
    links_of = {"en": "Survey links of Example Research &amp; Co", "de": "Umfragelinks von Example Research &amp; Co"}
    for state, path in states.items():
        shown = text(client.get(path, headers={"Accept-Language": language}))
        if state == "invalid":
            assert links_of[language] in shown and UNKNOWN[language] in shown, state
        else:
            assert sent[language] in shown, state
    for cut in ("/c/", "/c"):
        shown = text(client.get(cut, headers={"Accept-Language": language}))
        assert links_of[language] in shown and UNKNOWN[language] in shown


def test_the_survey_name_is_escaped(client: FlaskClient, states: dict[str, str]) -> None:
    db.session.get(Survey, "survey-1").name = "Q&A <b>2026</b>"
    db.session.commit()
    shown = text(client.get(states["revoked"], headers={"Accept-Language": "en"}))
    assert "Survey “Q&amp;A &lt;b&gt;2026&lt;/b&gt;”" in shown and "<b>" not in shown
