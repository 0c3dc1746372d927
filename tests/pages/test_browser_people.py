"""Issue 14 in headless Chromium: the Contacts and segment members pages at desktop and phone widths, and the
Share page's download report with its "apply the new expiry" offer and a revocation that holds."""

from __future__ import annotations

import csv
import json
import urllib.request
from typing import Any

import pytest

from tests.helpers import SURVEY_ID
from tests.pages.support import LiveServer
from tests.pages.test_browser import sign_in

pytestmark = pytest.mark.browser
WIDTHS = [(1280, 900), (390, 844)]


def no_horizontal_overflow(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_contacts_and_segment_members_pages(page: Any, live_server: LiveServer, screenshot: Any, width: int,
                                            height: int) -> None:
    key = live_server.reset()
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, key)
    page.get_by_role("link", name="Contacts").click()
    page.get_by_role("heading", name="Contacts").wait_for()
    response = page.goto(f"{live_server.url}/admin/contacts")
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    text = page.locator("main").inner_text()
    assert "4 of 4 contacts" in text
    for visible in ("c1", "Ona One", "one@example.com", "Alpha, Beta", "active"):
        assert visible in text
    assert no_horizontal_overflow(page)
    screenshot(f"7-contacts-{width}")
    page.get_by_label("Find").fill("tom two")
    page.get_by_role("button", name="Show").click()
    page.get_by_text("1 of 1 contact matching “tom two”").wait_for()
    assert "Ona One" not in page.locator("main").inner_text()
    page.get_by_role("link", name="Alpha").first.click()
    page.get_by_role("heading", name="Members of “Alpha”").wait_for()
    members = page.locator("main").inner_text()
    assert "3 active members" in members and "Thea Three" in members and "+Eve" not in members
    assert no_horizontal_overflow(page)
    screenshot(f"8-segment-members-{width}")


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_the_contacts_page_shows_who_is_suppressed_and_why(page: Any, live_server: LiveServer, screenshot: Any,
                                                           width: int, height: int) -> None:
    key = live_server.reset()
    body = json.dumps({"suppressions": [
        {"contactId": "c2", "reason": "bounce", "note": "mailbox full", "at": "2026-11-20T10:00:00Z"},
        {"email": "THREE@example.com", "reason": "opt-out", "at": "2026-11-21"}]}).encode()
    request = urllib.request.Request(f"{live_server.url}/api/personal-links/v1/suppressions", data=body,
                                     method="POST", headers={"x-api-key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 201
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, key)
    response = page.goto(f"{live_server.url}/admin/contacts")
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    text = page.locator("main").inner_text()
    assert "bounce since 2026-11-20: mailbox full" in text and "opt-out since 2026-11-21" in text
    assert page.locator("#contacts").inner_text().count("suppressed") == 2  # the two badges
    assert no_horizontal_overflow(page)
    table = page.locator("#contacts").evaluate("table => [table.scrollWidth, table.parentElement.clientWidth]")
    assert table[0] <= table[1], table  # the reason is read without scrolling the table sideways
    screenshot(f"contacts-suppressed-{width}")
    page.get_by_label("State").select_option("suppressed")
    page.get_by_role("button", name="Show").click()
    page.get_by_text("2 of 2 contacts").wait_for()
    shown = page.locator("main").inner_text()
    assert "Tom Two" in shown and "Thea Three" in shown and "Ona One" not in shown
    assert no_horizontal_overflow(page)


def test_a_second_download_reports_kept_links_offers_renew_and_leaves_revoked_out(page: Any,
                                                                                 live_server: LiveServer,
                                                                                 screenshot: Any) -> None:
    key = live_server.reset()
    sign_in(page, live_server, key)
    page.goto(f"{live_server.url}/admin/surveys/{SURVEY_ID}")
    page.get_by_label("Segment").select_option("alpha")
    page.get_by_label("Expiry date").fill("2026-12-10")
    with page.expect_download():
        page.get_by_role("button", name="Generate & download links").click()
    page.get_by_text("Downloaded 3 links: 3 new.").wait_for()
    assert page.get_by_role("button", name="Apply the new expiry to the kept links and download again").is_hidden()
    page.get_by_role("button", name="Revoke the link of c3").click()
    notice = page.get_by_role("status").first
    assert "left out of later downloads of this survey until you re-issue" in notice.inner_text()
    assert "left out of downloads until re-issued" in page.locator("#links").inner_text()
    page.get_by_label("Segment").select_option("alpha")
    page.get_by_label("Expiry date").fill("2026-12-31")
    with page.expect_download() as second:
        page.get_by_role("button", name="Generate & download links").click()
    with open(second.value.path(), newline="", encoding="utf-8") as handle:
        assert sorted(row[0] for row in list(csv.reader(handle))[1:]) == ["c1", "c2"]
    status = page.locator("#generate-status")
    status.get_by_text("2 kept their existing link (valid through 2026-12-10)").wait_for()
    assert "1 left out because its link was revoked" in status.inner_text()
    screenshot("9-share-kept-links")
    offer = page.get_by_role("button", name="Apply the new expiry to the kept links and download again")
    with page.expect_download():
        offer.click()
    status.get_by_text("2 renewed to the new expiry (valid through 2026-12-31), same URL").wait_for()
    assert offer.is_hidden()
    page.get_by_role("button", name="Re-issue a link to c3").click()
    assert "re-issued to c3" in page.get_by_role("status").first.inner_text()
    screenshot("10-share-reissued")


def test_the_same_expiry_again_offers_no_renewal(page: Any, live_server: LiveServer) -> None:
    key = live_server.reset()
    sign_in(page, live_server, key)
    page.goto(f"{live_server.url}/admin/surveys/{SURVEY_ID}")
    status = page.locator("#generate-status")
    for expected in ("Downloaded 3 links: 3 new.", "3 kept their existing link (valid through 2026-12-10)"):
        page.get_by_label("Segment").select_option("alpha")
        page.get_by_label("Expiry date").fill("2026-12-10")
        with page.expect_download():
            page.get_by_role("button", name="Generate & download links").click()
        status.get_by_text(expected).wait_for()
    # every kept link already ends on the chosen day: "apply the new expiry" would change nothing
    assert page.get_by_role("button", name="Apply the new expiry to the kept links and download again").is_hidden()
