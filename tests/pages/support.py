"""What the admin page tests share: seed data, the CSRF field, and a live HTTP server for the browser."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from plugin import create_app
from plugin.clock import FrozenClock
from plugin.db import db
from plugin.services.admin.api_keys import create_key
from plugin.services.host.surveys import save_survey
from tests.helpers import NOW, SECRET_KEY, seed

CHROMIUM = Path(os.environ.get("PERSONAL_LINKS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = _CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


class LiveServer:
    """The app served over real HTTP on 127.0.0.1 in a thread, on a SQLite file, with a frozen clock."""

    def __init__(self, database_url: str, *, migrate: bool = True, **settings: Any) -> None:
        """``migrate=False`` serves a database that is not there (the 503 pages); ``settings`` are added."""
        self._app: Flask | None = None
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.app = create_app({"SECRET_KEY": SECRET_KEY, "PUBLIC_URL": self.url, "DATABASE_URL": database_url,
                               **settings})
        self.app.extensions["personal_links"].clock = FrozenClock(NOW)
        if migrate:
            with self.app.app_context():
                upgrade(directory=self.app.extensions["migrate"].directory)
        self._app = self.app
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self._app is not None
        return self._app(environ, start_response)

    def reset(self, contacts: bool = True) -> str:
        """Empty every table, seed again, and return a fresh admin API key."""
        with self.app.app_context():
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()
            seed(contacts)
            save_survey(db.session, "survey-2", {"name": "Survey two", "publicUrl": "https://forms.example.com/s/2",
                                                 "hiddenFieldIds": [], "status": "paused"}, NOW, "plink")
            _, key = create_key(db.session, "browser", NOW)
            db.session.commit()
        return key


