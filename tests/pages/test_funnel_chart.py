"""The Share page's funnel-over-time chart in headless Chromium, at a desktop and a phone width."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from plugin.clock import FrozenClock
from plugin.db import db
from plugin.models import Contact, Link, Survey
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from plugin.services.responses.attribution import Intake, apply_delivery
from plugin.services.responses.records import Delivery, ResponseRecord
from tests.helpers import NOW, SURVEY_ID
from tests.pages.support import LiveServer

pytestmark = pytest.mark.browser
COLOURS = {"opened": "rgb(37, 99, 235)", "started": "rgb(217, 119, 6)", "completed": "rgb(5, 150, 105)"}


def _traffic(server: LiveServer) -> None:
    """Links issued three days ago; opens over HTTP on two days; a finished and an unfinished response."""
    state = server.app.extensions["personal_links"]
    with server.app.app_context():
        survey = db.session.get(Survey, SURVEY_ID)
        issue_links(db.session, survey, select(Contact.id), IssueOptions(), NOW - timedelta(days=3), "t")
        db.session.commit()
        ids = dict(db.session.execute(select(Contact.host_id, Link.id).join(Link)).all())
    try:
        for days_ago, contacts in ((2, ("c1", "c2", "c3")), (0, ("c4",))):
            state.clock = FrozenClock(NOW - timedelta(days=days_ago))
            for contact in contacts:
                url = f"{server.url}/c/{state.tokens.make(ids[contact], SURVEY_ID)}"
                assert requests.get(url, allow_redirects=False, timeout=5).status_code == 302
    finally:
        state.clock = FrozenClock(NOW)
    state.opens.flush()  # the server writes opens behind the clicks (OPEN_FLUSH_MS): now, not in 100 ms
    with server.app.app_context():
        for contact, finished in (("c1", True), ("c2", False)):
            at = NOW - timedelta(days=1)
            record = ResponseRecord(id=f"r-{contact}", survey_id=SURVEY_ID, finished=finished, created_at=at,
                                    updated_at=at, contact_id=None, meta_url=None, single_use_id=None,
                                    data={"plink": state.tokens.make(ids[contact], SURVEY_ID)})
            apply_delivery(db.session, Delivery("responseFinished", "hook", record), at,
                           Intake(state.tokens, "plink"))
        db.session.commit()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_chart_is_drawn_and_matches_the_daily_series(browser: Any, live_server: LiveServer,
                                                         width: int) -> None:
    key = live_server.reset()
    _traffic(live_server)
    series = requests.get(f"{live_server.url}/api/personal-links/v1/surveys/{SURVEY_ID}/funnel/daily",
                          headers={"x-api-key": key}, timeout=5).json()["data"]
    assert len(series) == 4 and sum(day["opened"] for day in series) == 4  # three days ago through today
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        page.goto(f"{live_server.url}/admin/")
        page.get_by_label("Admin API key").fill(key)
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="Surveys").wait_for()
        answer = page.goto(f"{live_server.url}/admin/surveys/{SURVEY_ID}#funnel-over-time")
        assert answer.status == 200 and answer.headers["content-type"].startswith("text/html")
        section = page.locator("#funnel-over-time")
        text = section.inner_text()
        assert "Funnel over time" in text
        assert f"from the day the first link was issued ({series[0]['date']}) through {series[-1]['date']}" in text
        for name, label in (("opened", "Opened"), ("started", "Started"), ("completed", "Completed")):
            assert f"{label}: {sum(day[name] for day in series)}" in text
            group = section.locator(f'svg g[data-series="{name}"]')
            points = group.locator("circle").evaluate_all(
                "(all) => all.map((c) => [c.dataset.day, Number(c.dataset.value)])")
            assert points == [[day["date"], day[name]] for day in series]
            line = group.locator("polyline")
            assert len(line.get_attribute("points").split()) == len(series)
            assert line.evaluate("(el) => getComputedStyle(el).stroke") == COLOURS[name]  # the stylesheet applies
        chart = section.get_by_role("img", name="Opens, starts and completions per day")
        box = chart.bounding_box()
        assert box is not None and 0 < box["width"] <= width and box["height"] > 100
        section.get_by_text("Numbers per day").click()
        rows = section.locator("#funnel-daily tbody tr").all_inner_texts()
        assert [row.split("\t") for row in rows] == [
            [day["date"], str(day["opened"]), str(day["started"]), str(day["completed"])] for day in series]
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
            .map((el) => el.tagName + '#' + el.id + '.' + el.className + ' ' + el.getBoundingClientRect().right)""")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), wide
        assert violations == []
        section.scroll_into_view_if_needed()
        screenshot_at(page, width)
    finally:
        context.close()


def screenshot_at(page: Any, width: int) -> None:
    """The page as test-output/screenshots/funnel-chart-<width>.png."""
    from tests.pages.support import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"funnel-chart-{width}.png"), full_page=True)


def test_without_links_the_section_says_the_chart_starts_with_the_first(browser: Any,
                                                                       live_server: LiveServer) -> None:
    key = live_server.reset()
    context = browser.new_context(viewport={"width": 390, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/")
        page.get_by_label("Admin API key").fill(key)
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="Surveys").wait_for()
        page.goto(f"{live_server.url}/admin/surveys/{SURVEY_ID}")
        text = page.locator("#funnel-over-time").inner_text()
        assert "No links yet: the chart starts on the day the first link is issued." in text
        assert page.locator("#funnel-over-time svg").count() == 0
    finally:
        context.close()
