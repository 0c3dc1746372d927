"""The admin page /admin/host in headless Chromium at a desktop and a phone width: the host check as an admin
reads it, before and after install, against the fake Formbricks in 4.x and 5.x shapes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plugin.db import db
from plugin.manifest import manifest
from plugin.services.host import install
from plugin.services.host.adapters import OVERRIDE_KEY, Adapters
from plugin.services.host.sync import apply_surveys
from tests.helpers import NOW
from tests.pages.support import LiveServer
from tests.plugin.formbricks_host import FakeHost

pytestmark = pytest.mark.browser


@pytest.fixture
def hosted(live_server: LiveServer, fake_host: FakeHost) -> Iterator[tuple[LiveServer, str]]:
    """The live server with the fake host as its survey host (contacts from CSV), and a fresh admin key."""
    key = live_server.reset()
    adapter = fake_host.adapter()
    live_server.app.extensions[OVERRIDE_KEY] = Adapters(None, adapter)
    yield live_server, key
    live_server.app.extensions.pop(OVERRIDE_KEY, None)


def open_host_page(page: Any, server: LiveServer, key: str) -> Any:
    page.goto(f"{server.url}/admin/sign-in")
    page.get_by_label("Admin API key").fill(key)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Surveys").wait_for()
    page.get_by_role("link", name="Survey host").click()
    page.get_by_role("heading", name="Survey host").wait_for()
    answer = page.goto(f"{server.url}/admin/host")
    assert answer is not None and answer.status == 200
    assert answer.headers["content-type"].startswith("text/html")
    return answer


@pytest.mark.parametrize("width", [1280, 390])
def test_the_host_page_says_what_is_missing_then_that_all_works(page: Any, hosted: tuple[LiveServer, str],
                                                                fake_host: FakeHost, screenshot: Any,
                                                                width: int) -> None:
    server, key = hosted
    page.set_viewport_size({"width": width, "height": 900})
    open_host_page(page, server, key)
    summary = page.locator("#host-summary").inner_text()
    assert summary.startswith("Missing: webhook.") and "Each line below says what to do" in summary
    text = page.locator("main").inner_text()
    assert f"Formbricks {fake_host.version}.x (tested against" in text
    assert "What to do: run personal-links install" in text
    assert "Enterprise contacts available" in text
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(f"host-{fake_host.version}-missing-{width}")

    with server.app.app_context():
        adapter = server.app.extensions[OVERRIDE_KEY].survey_host
        install.install(db.session, adapter, manifest(), server.url, ["sv_1"], "plink", NOW)
        apply_surveys(db.session, adapter.surveys(), NOW, adapter.name)  # as a sync does: sv_2 lacks the field
        db.session.commit()
    page.reload()
    assert page.locator("#host-summary").inner_text() == (
        "Everything personal links need works with this host and key.")
    cards = page.locator(".host-check .card")
    names = [" ".join(cards.nth(i).locator("h2").inner_text().split()) for i in range(cards.count())]
    assert names == ["OK host", "OK key permission", "OK contacts", "OK survey sv_1", "Information other surveys",
                     "OK webhook", "OK webhook secret",
                     "Warning webhook URL"]  # the live server is on a loopback address
    text = page.locator("main").inner_text()
    assert "NPS: link survey, inProgress, hidden field 'plink' present, single-use on" in text
    assert "sv_2 (Plain: hidden field 'plink' missing)" in text  # information: nothing in use depends on it
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(f"host-{fake_host.version}-ok-{width}")
