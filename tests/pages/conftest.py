"""Fixtures for the admin pages: seeded data, a signed-in client, and for browser tests a live server.

Browser tests (marked ``browser``) drive Debian's Chromium through Playwright's Python package; no browser is
ever downloaded. Without Chromium they are skipped, and the terminal summary says so in one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.db import db
from plugin.services.admin.api_keys import create_key
from tests import needs
from tests.helpers import NOW, seed
from tests.pages.support import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, LiveServer, csrf_of


@pytest.fixture
def seeded(app: Flask) -> None:
    """The contacts, segments and survey of ``seed``."""
    seed()


@pytest.fixture
def api_key(app: Flask) -> str:
    """A fresh admin API key."""
    _, key = create_key(db.session, "admin", NOW)
    db.session.commit()
    return key


@pytest.fixture
def admin(client: FlaskClient, api_key: str) -> FlaskClient:
    """A client signed in to the admin pages."""
    token = csrf_of(client.get("/admin/sign-in").get_data(as_text=True))
    response = client.post("/admin/sign-in", data={"api_key": api_key, "csrf_token": token})
    assert response.status_code == 302
    return client


# --- browser tests -----------------------------------------------------------------------------------------


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (install Debian's chromium or set PERSONAL_LINKS_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is not installed"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip browser tests, with the reason, when there is no browser to drive."""
    needs.skip_or_require(config, [item for item in items if item.get_closest_marker("browser")], "browser tests",
                          _browser_missing(), "PERSONAL_LINKS_TEST_REQUIRE_BROWSER")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One clear line when the browser tests did not run."""
    needs.summary(terminalreporter, config, "browser tests")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server for the browser tests of the session."""
    server = LiveServer(f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.sqlite3'}")
    server.thread.start()
    yield server
    server.server.shutdown()
    with server.app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def down_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server whose database cannot be opened (a SQLite file in a folder that does not exist)."""
    missing = tmp_path_factory.mktemp("down") / "no-such-folder" / "down.sqlite3"
    server = LiveServer(f"sqlite:///{missing}", migrate=False)
    server.thread.start()
    yield server
    server.server.shutdown()
    with server.app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium (Debian's) for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (its own cookies) and page, at a phone-friendly-to-desktop width."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1000, "height": 900})
    context.set_default_timeout(10_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def screenshot(page: Any) -> Any:
    """Save the page as ``test-output/screenshots/<name>.png``."""

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
