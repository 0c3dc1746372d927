"""What a person sees at ``/c/`` in Chromium, at a desktop and a phone width, in English and German: every page
names its survey (and its sender, when one is set), an unknown link says it names no survey, and a link a mail
client cut before its token gets the same invalid page, not the framework's bare 404."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugin.db import db
from tests.pages.support import LiveServer
from tests.pages.test_pages_at_widths import STATE_TEXTS, WIDTHS, check, links_in_every_state

pytestmark = pytest.mark.browser

SENDER = "Example Research Ltd"
ACCEPT = {"en": "en-GB,en;q=0.9", "de": "de-DE,de;q=0.9,en;q=0.5"}
LANGUAGE_COLUMN = {"en": 1, "de": 2}  # STATE_TEXTS' columns
NAMED = {"en": "Survey “Survey one”", "de": "Umfrage „Survey one“"}
FROM = {"en": f"Survey “Survey one” from {SENDER}", "de": f"Umfrage „Survey one“ von {SENDER}"}
LINKS_OF = {"en": f"Survey links of {SENDER}", "de": f"Umfragelinks von {SENDER}"}
NO_SURVEY = {"en": "No survey is known for this link, so this page cannot say which survey it was for.",
             "de": "Zu diesem Link ist keine Umfrage bekannt; diese Seite kann daher nicht sagen, für welche "
                   "Umfrage er gedacht war."}
CUT = {"/c/": "cut-slash", "/c": "cut"}  # path: screenshot name


@pytest.fixture(scope="module")
def sender_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server whose SENDER_NAME is set."""
    server = LiveServer(f"sqlite:///{tmp_path_factory.mktemp('sender') / 'live.sqlite3'}", SENDER_NAME=SENDER)
    server.thread.start()
    yield server
    server.server.shutdown()
    with server.app.app_context():
        db.engine.dispose()


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest, page: Any) -> str:
    """Each test at a desktop and at a phone width."""
    page.set_viewport_size({"width": WIDTHS[request.param], "height": 900})
    return str(request.param)


@pytest.fixture
def shot(page: Any, tmp_path: Path) -> Any:
    """Save the page as ``<name>.png`` in the test's own folder."""

    def take(name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.mark.parametrize("language", list(ACCEPT))
def test_every_page_names_the_survey_and_its_sender(page: Any, sender_server: LiveServer, shot: Any, width: str,
                                                    language: str) -> None:
    urls = links_in_every_state(sender_server, sender_server.reset())
    page.set_extra_http_headers({"Accept-Language": ACCEPT[language]})
    for state, url in urls.items():
        status, texts = STATE_TEXTS[state][0], STATE_TEXTS[state][LANGUAGE_COLUMN[language]]
        expected = [*texts, LINKS_OF[language], NO_SURVEY[language]] if state == "invalid" else [*texts, FROM[language]]
        shown = check(page, page.goto(url), status, expected, shot, f"{state}-{language}-{width}")
        if state == "invalid":
            assert "Survey one" not in shown
        else:
            assert page.title().endswith(" · Survey one"), page.title()
            assert shown.index(FROM[language]) < shown.index(texts[0])  # said first, above the title
    for cut, name in CUT.items():
        check(page, page.goto(sender_server.url + cut), 404,
              [*STATE_TEXTS["invalid"][LANGUAGE_COLUMN[language]], LINKS_OF[language], NO_SURVEY[language]], shot,
              f"{name}-{language}-{width}")
        assert page.locator("html").get_attribute("lang") == language


@pytest.mark.parametrize("language", list(ACCEPT))
def test_without_a_sender_the_pages_name_the_survey_alone(page: Any, live_server: LiveServer, shot: Any,
                                                          width: str, language: str) -> None:
    urls = links_in_every_state(live_server, live_server.reset())
    page.set_extra_http_headers({"Accept-Language": ACCEPT[language]})
    for state in ("expired", "used"):
        texts = STATE_TEXTS[state][LANGUAGE_COLUMN[language]]
        shown = check(page, page.goto(urls[state]), STATE_TEXTS[state][0], [*texts, NAMED[language]], shot,
                      f"{state}-no-sender-{language}-{width}")
        assert FROM[language] not in shown and SENDER not in shown
    for url, name in ((urls["invalid"], "invalid"), *((live_server.url + cut, name) for cut, name in CUT.items())):
        shown = check(page, page.goto(url), 404, [*STATE_TEXTS["invalid"][LANGUAGE_COLUMN[language]],
                                                  NO_SURVEY[language]], shot, f"{name}-no-sender-{language}-{width}")
        assert SENDER not in shown and "Survey one" not in shown
