"""The Events admin page: subscriptions listed, one added (its secret shown that once), one deleted; CSRF and
hostile input refused; in Chromium at a desktop and a phone width."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from plugin.db import db
from plugin.models import EventSubscription
from tests.pages.support import LiveServer, csrf_of
from tests.pages.test_pages_at_widths import check, sign_in, visible

HOOK = "https://hooks.example.com/links"


def _add(admin: FlaskClient, **form: Any) -> Any:
    token = csrf_of(admin.get("/admin/events").get_data(as_text=True))
    return admin.post("/admin/events/subscriptions", data={"csrf_token": token, **form})


def test_adding_shows_the_secret_once(admin: FlaskClient) -> None:
    answer = _add(admin, url=HOOK, events=["link.opened", "response.completed"])
    page = answer.get_data(as_text=True)
    secret = db.session.scalar(db.select(EventSubscription.secret))
    assert answer.status_code == 201 and answer.content_type == "text/html; charset=utf-8"
    assert secret in page and "shown this once" in page
    again = admin.get("/admin/events").get_data(as_text=True)
    assert HOOK in again and "link.opened, response.completed" in again and secret not in again


def test_a_form_without_its_csrf_token_is_refused(admin: FlaskClient) -> None:
    answer = admin.post("/admin/events/subscriptions", data={"url": HOOK, "events": ["link.opened"]})
    assert answer.status_code == 400 and "Form refused" in answer.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(EventSubscription)) == 0


@pytest.mark.parametrize(("form", "said"), [
    ({"url": "javascript:alert(1)", "events": ["link.opened"]}, "url: must start with http:// or https://"),
    ({"url": "http://[::1", "events": ["link.opened"]}, "url: names no valid host"),
    ({"url": "http://[::1]]/", "events": ["link.opened"]}, "url: names no valid host"),
    ({"url": "https://hooks.example.com/\r\nX: 1", "events": ["link.opened"]}, "url: holds spaces, control"),
    ({"url": HOOK}, "events: a non-empty list of event kinds is required"),
    ({"url": HOOK, "events": ["link.clicked"]}, "events: unknown event kind"),
])
def test_hostile_input_is_refused_on_the_page(admin: FlaskClient, form: dict[str, Any], said: str) -> None:
    answer = _add(admin, **form)
    assert answer.status_code == 422 and said in answer.get_data(as_text=True)


def test_deleting(admin: FlaskClient) -> None:
    _add(admin, url=HOOK, events=["link.opened"])
    token = csrf_of(admin.get("/admin/events").get_data(as_text=True))
    answer = admin.post("/admin/events/subscriptions/1/delete", data={"csrf_token": token}, follow_redirects=True)
    assert answer.status_code == 200 and "Subscription 1 is removed" in answer.get_data(as_text=True)
    assert admin.post("/admin/events/subscriptions/1/delete", data={"csrf_token": token}).status_code == 404


WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.mark.browser
@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_events_page_in_a_browser(page: Any, live_server: LiveServer, screenshot: Any, width: str) -> None:
    page.set_viewport_size({"width": WIDTHS[width], "height": 900})
    key = live_server.reset()
    sign_in(page, live_server, key)
    check(page, page.goto(f"{live_server.url}/admin/events"), 200,
          ["Events", "No subscriptions yet", "Add a subscription", "No deliveries yet."], screenshot,
          f"admin-events-empty-{width}")
    page.get_by_label("Receiver URL").fill(HOOK)
    page.get_by_label("link.opened").check()
    page.get_by_label("response.completed").check()
    with page.expect_response(lambda answer: answer.request.method == "POST") as added:
        page.get_by_role("button", name="Add subscription").click()
    page.get_by_text("shown this once").wait_for()
    shown = check(page, added.value, 201, ["Subscription 1 is added", "whsec_", HOOK,
                                           "link.opened, response.completed"], screenshot,
                  f"admin-events-added-{width}")
    secret = next(word for word in shown.split() if word.startswith("whsec_"))
    listed = check(page, page.goto(f"{live_server.url}/admin/events"), 200, [HOOK, "active"], screenshot,
                   f"admin-events-listed-{width}")
    assert secret not in listed
    panel = page.locator(".scroll").bounding_box()  # the whole row fits its panel, a phone's too: no scrolling
    for cell in ("active", "Delete"):
        box = page.locator("#subscriptions tbody").get_by_text(cell, exact=True).bounding_box()
        assert panel is not None and box is not None and box["x"] + box["width"] <= panel["x"] + panel["width"], (
            cell, box, panel)
    with page.expect_response(lambda answer: answer.request.method == "POST"):
        page.get_by_role("button", name="Delete subscription 1").click()
    page.get_by_text("Subscription 1 is removed").wait_for()
    assert "No subscriptions yet" in visible(page)
