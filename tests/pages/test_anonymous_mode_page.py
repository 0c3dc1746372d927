"""The admin pages show each survey's mode and, for an anonymous one, where the erasure of its tickets stands:
in Chromium at a desktop and a phone width, visible text, status and content type."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from plugin.db import db
from plugin.models import AnonymousTally, HostErasure
from tests.helpers import NOW, SURVEY_ID
from tests.pages.support import LiveServer
from tests.pages.test_pages_at_widths import HTML, WIDTHS, check, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest, page: Any) -> str:
    """Each test at a desktop and at a phone width."""
    page.set_viewport_size({"width": WIDTHS[request.param], "height": 900})
    return str(request.param)


def make_anonymous(server: LiveServer, key: str) -> None:
    """survey-1 anonymous through the API; two tickets overwritten, one refused by the host (a read key)."""
    request = urllib.request.Request(f"{server.url}/api/personal-links/v1/surveys/{SURVEY_ID}", method="PUT",
                                     data=json.dumps({"anonymous": True, "eraseAttributions": True}).encode(),
                                     headers={"x-api-key": key, "content-type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        assert json.load(answer)["data"]["anonymous"] is True
    with server.app.app_context():
        db.session.get(AnonymousTally, SURVEY_ID).erased = 2
        db.session.add(HostErasure(response_id="rs_x", survey_id=SURVEY_ID, attempts=3, next_attempt_at=NOW,
                                   last_status=401, last_error="update a response: Formbricks refused the API key"))
        db.session.commit()


def test_the_surveys_and_share_pages_show_the_mode_and_the_erasures(page: Any, live_server: LiveServer,
                                                                     screenshot: Any, width: str) -> None:
    key = live_server.reset()
    make_anonymous(live_server, key)
    sign_in(page, live_server, key)
    shown = check(page, page.goto(f"{live_server.url}/admin/surveys"), 200,
                  ["Anonymous since 2026-11-28: responses are never tied to contacts",
                   "Tickets overwritten on the host: 2; waiting: 1.",
                   "the host refuses to overwrite 1 ticket(s): the API key lacks write access",
                   "no survey host that can overwrite responses is configured",
                   "Attributed: each response is tied to the contact whose link was used."], screenshot,
                  f"admin-surveys-anonymous-{width}", content_type=HTML)
    assert "rs_x" not in shown  # the page never names a response
    check(page, page.goto(f"{live_server.url}/admin/surveys/{SURVEY_ID}"), 200,
          ["Share “Survey one”", "Anonymous since 2026-11-28", "Tickets overwritten on the host: 2; waiting: 1."],
          screenshot, f"admin-share-anonymous-{width}")
