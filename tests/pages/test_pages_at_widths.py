"""Every page a respondent or an admin can reach, opened in Chromium at a desktop and a phone width: the visible
text (not the markup), the status and the content type, no horizontal overflow; a screenshot of each."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from plugin.db import db
from plugin.models import JobRun, Link
from tests.helpers import NOW, SURVEY_ID, SURVEY_URL
from tests.pages.support import LiveServer

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": 1280, "phone": 390}
HTML = "text/html; charset=utf-8"
INVALID = "/c/1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
STATE_TEXTS = {  # state: (status, English, German)
    "invalid": (404, ["This link is not valid", "Check that you copied the whole link."],
                ["Dieser Link ist ungültig", "Prüfen Sie, ob Sie den ganzen Link kopiert haben."]),
    "expired": (410, ["This link has expired", "It ended on November 28, 2026 at 12:00 AM UTC."],
                ["Dieser Link ist abgelaufen", "Er ist am 28. November 2026 um 00:00 UTC abgelaufen."]),
    "used": (410, ["This survey has already been answered", "Thank you: your answer was received."],
             ["Diese Umfrage wurde bereits beantwortet", "Vielen Dank: Ihre Antwort ist eingegangen."]),
    "revoked": (410, ["This link has been withdrawn", "Ask whoever sent it for a new one."],
                ["Dieser Link wurde zurückgezogen"]),
    "pending": (403, ["This link is not open yet", "It opens on December 1, 2026 at 12:00 AM UTC."],
                ["Dieser Link gilt noch nicht", "Er gilt ab dem 1. Dezember 2026 um 00:00 UTC."]),
}


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest, page: Any) -> str:
    """Each test at a desktop and at a phone width."""
    page.set_viewport_size({"width": WIDTHS[request.param], "height": 900})
    return str(request.param)


def visible(page: Any) -> str:
    """What a person reads: the body's rendered text, Babel's narrow spaces as plain ones."""
    return str(page.locator("body").inner_text()).replace("\u202f", " ").replace("\xa0", " ")


def check(page: Any, response: Any, status: int, texts: list[str], shot: Any, name: str,
          content_type: str = HTML) -> str:
    """The answer's status and type, the texts on screen, no sideways scrolling; then the screenshot."""
    assert response is not None
    assert response.status == status, name
    assert response.headers["content-type"] == content_type, name
    shown = visible(page)
    for text in texts:
        assert text in shown, (name, text, shown)
    assert "<h1>" not in shown and "<!doctype" not in shown.lower()  # rendered, not the source
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), name
    shot(name)
    return shown


def issue(server: LiveServer, key: str, contact: str, **params: str) -> tuple[str, int]:
    """A contact's link through the host-compatible API, over HTTP."""
    url = (f"{server.url}/api/v2/management/surveys/{SURVEY_ID}/contact-links/contacts/{contact}?"
           f"{urlencode(params)}")
    with urllib.request.urlopen(urllib.request.Request(url, headers={"x-api-key": key})) as answer:
        data = json.load(answer)["data"]
    return data["surveyUrl"], data["linkId"]


def links_in_every_state(server: LiveServer, key: str) -> dict[str, str]:
    """A link of survey-1 in each state that does not redirect."""
    urls = {"invalid": server.url + INVALID}
    urls["pending"], _ = issue(server, key, "c1", validFrom="2026-12-01")
    made = {state: issue(server, key, contact) for state, contact in (("expired", "c3"), ("used", "c4"))}
    urls["revoked"], revoked = issue(server, key, "c2")
    revoke = urllib.request.Request(f"{server.url}/api/personal-links/v1/links/{revoked}/revoke", method="POST",
                                    headers={"x-api-key": key})
    with urllib.request.urlopen(revoke):
        pass
    with server.app.app_context():
        for state, (url, link_id) in made.items():
            link = db.session.get(Link, link_id)
            if state == "expired":
                link.expires_at = NOW.replace(hour=0)
            else:
                link.use_count = 1
            urls[state] = url
        db.session.commit()
    return urls


def sign_in(page: Any, server: LiveServer, key: str) -> None:
    page.goto(f"{server.url}/admin/")
    page.get_by_label("Admin API key").fill(key)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Surveys").wait_for()


def test_every_respondent_state_page(page: Any, live_server: LiveServer, screenshot: Any, width: str) -> None:
    key = live_server.reset()
    urls = links_in_every_state(live_server, key)
    for state, (status, english, _) in STATE_TEXTS.items():
        check(page, page.goto(urls[state]), status, english, screenshot, f"respondent-{state}-en-{width}")
    page.set_extra_http_headers({"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    for state, (status, _, german) in STATE_TEXTS.items():
        check(page, page.goto(urls[state]), status, german, screenshot, f"respondent-{state}-de-{width}")
        assert page.locator("html").get_attribute("lang") == "de"


def test_the_demo_survey_page(page: Any, live_server: LiveServer, screenshot: Any, width: str) -> None:
    key = live_server.reset()
    live_server.app.config["DEMO"] = True
    try:
        response = page.goto(f"{live_server.url}/demo/s/demo-survey?plink=abc.def")
        check(page, response, 200, ["Demo survey “demo-survey”", "plink = abc.def"], screenshot,
              f"respondent-demo-survey-{width}")
        url, link_id = issue(live_server, key, "c2")
        token = url.rsplit("/", 1)[1]  # where the link sends the browser, were survey-1 the demo's survey
        page.goto(f"{live_server.url}/demo/s/survey-1?plink={token}")
        with page.expect_navigation() as sent:
            page.get_by_role("button", name="Send the answer").click()
        check(page, sent.value, 200, ["Answer sent", "attributed", f"link {link_id}"], screenshot,
              f"respondent-demo-survey-answered-{width}")
    finally:
        live_server.app.config["DEMO"] = False


def test_the_page_while_the_database_is_down(page: Any, down_server: LiveServer, screenshot: Any,
                                             width: str) -> None:
    response = page.goto(down_server.url + INVALID)
    check(page, response, 503, ["Please try again shortly", "open your link again in a few minutes"], screenshot,
          f"respondent-database-down-{width}")
    assert response.headers["retry-after"] == "5"
    assert "sqlite" not in visible(page).lower() and "database" not in visible(page).lower()
    page.set_extra_http_headers({"Accept-Language": "de"})
    check(page, page.goto(down_server.url + INVALID), 503, ["Bitte versuchen Sie es gleich noch einmal"], screenshot,
          f"respondent-database-down-de-{width}")
    asked = urllib.request.Request(down_server.url + INVALID, headers={"Accept": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(asked)
    assert answer.value.code == 503 and answer.value.headers["Content-Type"] == "application/json"


def test_every_admin_page(page: Any, live_server: LiveServer, screenshot: Any, width: str) -> None:
    key = live_server.reset()
    links_in_every_state(live_server, key)
    with live_server.app.app_context():  # the once-a-minute retry, with nothing to do, for two hours
        for minute in range(120):
            at = NOW - timedelta(minutes=minute)
            db.session.add(JobRun(job="retry", trigger="schedule", holder="h", started_at=at, finished_at=at,
                                  status="succeeded", counts={"applied": 0, "failed": 0, "dead": 0}))
        db.session.commit()
    check(page, page.goto(f"{live_server.url}/admin/sign-in"), 200, ["Sign in", "Admin API key"], screenshot,
          f"admin-sign-in-{width}")
    page.locator('input[name="csrf_token"]').evaluate("field => field.value = 'stale'")
    page.get_by_label("Admin API key").fill(key)
    with page.expect_response(lambda answer: answer.request.method == "POST") as refused:
        page.keyboard.press("Enter")
    page.get_by_role("heading", name="Form refused").wait_for()
    check(page, refused.value, 400, ["Form refused", "reload the page and try again"], screenshot,
          f"admin-form-refused-{width}")
    sign_in(page, live_server, key)
    check(page, page.goto(f"{live_server.url}/admin/surveys"), 200, ["Surveys", "Survey one", "Survey two"],
          screenshot, f"admin-surveys-{width}")
    shown = check(page, page.goto(f"{live_server.url}/admin/surveys/{SURVEY_ID}"), 200,
                  ["Share “Survey one”", "Personal Links", "Funnel", "What respondents see",
                   "Last syncs and scheduled runs", "120 runs with nothing to do"], screenshot,
                  f"admin-share-{width}")
    assert shown.count("scheduled: retry") == 1
    check(page, page.goto(f"{live_server.url}/admin/surveys/nope"), 404, ["not known to the sidecar"], screenshot,
          f"admin-not-found-{width}")


PREVIEWS = {  # state: (English, German)
    "live": ("On to the survey", "Weiter zur Umfrage"),
    "pending": ("It opens on December 5, 2026 at 12:00 AM UTC.", "Er gilt ab dem 5. Dezember 2026 um 00:00 UTC."),
    "expired": ("It ended on November 28, 2026 at 12:00 AM UTC.", "Dieser Link ist abgelaufen"),
    "used": ("This survey has already been answered", "Diese Umfrage wurde bereits beantwortet"),
    "revoked": ("This link has been withdrawn", "Dieser Link wurde zurückgezogen"),
    "invalid": ("This link is not valid", "Dieser Link ist ungültig"),
}
LABELS = {"live": "live", "pending": "not yet valid", "expired": "expired", "used": "used", "revoked": "revoked",
          "invalid": "invalid"}


def test_the_share_page_previews_every_respondent_page(page: Any, live_server: LiveServer, screenshot: Any,
                                                       width: str) -> None:
    key = live_server.reset()
    sign_in(page, live_server, key)
    share = f"{live_server.url}/admin/surveys/{SURVEY_ID}"
    for state, texts in PREVIEWS.items():
        for language, name, text in (("en", "English", texts[0]), ("de", "Deutsch", texts[1])):
            page.goto(share)
            link = page.get_by_role("link", name=f"Preview the {LABELS[state]} page in {name}")
            with page.expect_navigation() as opened:
                link.click()
            shown = check(page, opened.value, 200, [text, "respondents do not see this bar"], screenshot,
                          f"admin-preview-{state}-{language}-{width}")
            if state == "live":  # where the respondent is sent: the survey, the token in the hidden field
                assert f"{SURVEY_URL}?plink=SAMPLE-TOKEN" in shown
    page.get_by_role("link", name="Back to the Share page").click()
    page.get_by_role("heading", name="What respondents see").wait_for()
    with live_server.app.app_context():
        assert db.session.query(Link).count() == 0  # previewing issued nothing, recorded nothing


def test_the_share_page_with_links_fits_a_phone(page: Any, live_server: LiveServer, screenshot: Any) -> None:
    """The Share page once links exist (their table, its hidden labels) scrolls no page sideways at 390 px."""
    key = live_server.reset()
    links_in_every_state(live_server, key)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, key)
    page.goto(f"{live_server.url}/admin/surveys/{SURVEY_ID}")
    page.get_by_role("heading", name="Links", exact=True).wait_for()
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    screenshot("admin-share-with-links-phone")
    assert widths[0] <= widths[1] == 390, widths


def test_the_refusal_pages_of_hostile_input_and_of_too_many_sign_ins(page: Any, live_server: LiveServer,
                                                                     screenshot: Any, width: str) -> None:
    """The "Input refused" page (a NUL in a page's query) and the sign-in refusing wrong keys after repeated ones
    (the right key still gets in)."""
    key = live_server.reset()
    sign_in(page, live_server, key)
    check(page, page.goto(f"{live_server.url}/admin/surveys/{SURVEY_ID}?q=a%00b"), 400,
          ["Input refused", "NUL character", "Go back, remove it and try again."], screenshot,
          f"admin-input-refused-{width}")
    page.context.clear_cookies()
    config = live_server.app.config
    limit = config["AUTH_FAILURE_LIMIT"]
    config["AUTH_FAILURE_LIMIT"] = 2
    try:
        page.goto(f"{live_server.url}/admin/sign-in")
        for _ in range(2):
            page.get_by_label("Admin API key").fill("plk_wrong")
            with page.expect_response(lambda answer: answer.request.method == "POST") as refused:
                page.keyboard.press("Enter")
        assert refused.value.headers["retry-after"]
        check(page, refused.value, 429, ["Sign in", "wrong keys are refused for 5 minutes",
                                         "A live admin API key still signs you in."], screenshot,
              f"admin-sign-in-paused-{width}")
        page.get_by_label("Admin API key").fill(key)  # the owner gets in all the same
        with page.expect_response(lambda answer: answer.request.method == "POST") as owner:
            page.keyboard.press("Enter")
        assert owner.value.status == 302
    finally:
        config["AUTH_FAILURE_LIMIT"] = limit
        live_server.reset()  # the failures are rows of the database: the next test starts unpaused
