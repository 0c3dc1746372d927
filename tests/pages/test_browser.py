"""The Personal Links tab in headless Chromium, as an admin who never touches a terminal uses it."""

from __future__ import annotations

import csv
import urllib.error
import urllib.request
from typing import Any

import pytest

from plugin.services.links.export import HEADER
from tests.helpers import SURVEY_ID, SURVEY_URL
from tests.pages.support import LiveServer

pytestmark = pytest.mark.browser


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def sign_in(page: Any, server: LiveServer, key: str) -> None:
    """Sign in through the form, by keyboard."""
    page.goto(f"{server.url}/admin/")
    page.get_by_label("Admin API key").fill(key)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Surveys").wait_for()


def test_sign_in_pick_a_segment_and_a_date_and_download(page: Any, live_server: LiveServer,
                                                       screenshot: Any) -> None:
    key = live_server.reset()
    page.goto(f"{live_server.url}/admin/")
    screenshot("1-sign-in")
    sign_in(page, live_server, key)
    screenshot("2-surveys")
    page.get_by_role("link", name="Share Survey one").click()
    page.get_by_role("heading", name="Personal Links").wait_for()
    page.get_by_label("Segment").select_option(label="Alpha (3 contacts)")
    page.get_by_label("Expiry date").fill("2026-12-31")
    screenshot("3-share")
    with page.expect_download() as info:
        page.get_by_role("button", name="Generate & download links").click()
    download = info.value
    assert download.suggested_filename == f"personal-links-{SURVEY_ID}-alpha.csv"
    with open(download.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == HEADER
    assert sorted(row[0] for row in rows[1:]) == ["c1", "c2", "c3"]
    page.get_by_text("Downloaded 3 links").wait_for()
    page.locator('[data-step="issued"]', has_text="3").wait_for()  # the funnel refreshed itself
    screenshot("4-share-after-download")
    opener = urllib.request.build_opener(_NoRedirect)
    for row in rows[1:]:
        assert row[5].startswith(f"{live_server.url}/c/")
        with pytest.raises(urllib.error.HTTPError) as answer:
            opener.open(row[5])
        assert answer.value.code == 302
        assert answer.value.headers["Location"].startswith(f"{SURVEY_URL}?plink=")


def test_the_date_picker_refuses_today_and_so_does_the_server(page: Any, live_server: LiveServer,
                                                             screenshot: Any) -> None:
    key = live_server.reset()
    sign_in(page, live_server, key)
    page.goto(f"{live_server.url}/admin/surveys/{SURVEY_ID}")
    picker = page.get_by_label("Expiry date")
    assert picker.get_attribute("min") == "2026-11-29"  # the live server's clock stands at 2026-11-28
    page.get_by_label("Segment").select_option("beta")
    picker.fill("2026-11-28")
    assert picker.evaluate("input => input.validity.rangeUnderflow") is True
    page.get_by_role("button", name="Generate & download links").click()
    assert page.evaluate("() => document.querySelector('#expiresOn:invalid') !== null")
    assert page.get_by_text("Generation failed").is_hidden()
    # Forced past the picker (its min removed), the server refuses with the reason.
    picker.evaluate("input => input.removeAttribute('min')")
    page.get_by_role("button", name="Generate & download links").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Generation failed: expiry date: must be 2026-11-29 (tomorrow, UTC) or later" in alert.inner_text()
    screenshot("5-share-refused")
    assert page.locator('[data-step="issued"]').inner_text() == "0"


def test_no_segments_says_so_and_how_to_create_one(page: Any, live_server: LiveServer, screenshot: Any) -> None:
    key = live_server.reset(contacts=False)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    sign_in(page, live_server, key)
    page.goto(f"{live_server.url}/admin/surveys/{SURVEY_ID}")
    assert "No segments available" in page.locator("#no-segments").inner_text()
    assert page.get_by_role("button", name="Generate & download links").is_disabled()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot("6-share-no-segments-phone")
