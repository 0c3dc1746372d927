"""The personal-links sidecar: ``create_app`` builds the Flask app from settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from plugin import config, i18n, logs, monitoring, sessions, state
from plugin import db as database
from plugin.db import pool_ping
from plugin.request_body import SidecarRequest
from plugin.tokens import MAX_ID

MIGRATIONS = str(Path(__file__).parent / "migrations")


class SidecarFlask(Flask):
    """Flask, except that an unhandled error is logged with the route template, not the path (paths hold tokens),
    that a chunked request body is bounded like any other (plugin.request_body), and that whether a view or hook
    is ``async`` is asked once per function, not on every request (a click runs seven of them)."""

    request_class = SidecarRequest  # a chunked body over the limit is a 413 too

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Any, Any] = {}

    def ensure_sync(self, func: Any) -> Any:
        """``Flask.ensure_sync``, remembered per function."""
        found = self._sync.get(func)
        if found is None:
            found = super().ensure_sync(func)
            if len(self._sync) < 1000:  # views and hooks; not every per-request callback (after_this_request)
                self._sync[func] = found
        return found

    def log_exception(self, exc_info: Any) -> None:
        """Log the error as Flask does, naming the route."""
        self.logger.error("Exception on %s [%s]", logs.route_of(), request.method, exc_info=exc_info)


def digits_up_to(limit: int) -> str:
    """A regular expression of the decimal numbers from 0 to ``limit`` (leading zeros allowed), nothing larger."""
    text = str(limit)
    shorter = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    same_length = [rf"{text[:at]}[0-{int(digit) - 1}]\d{{{len(text) - at - 1}}}"
                   for at, digit in enumerate(text) if digit != "0"]
    return "0*(?:" + "|".join([*shorter, *same_length, text]) + ")"


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in our routes is a row id: past the INTEGER columns' range it matches nothing (404).

    Refused by the pattern, not only by the value check after it: werkzeug answers a path whose pattern matched
    one rule but whose value failed 405 when another method's rule has the same pattern."""

    regex = digits_up_to(MAX_ID)

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings (defaults, ``PERSONAL_LINKS_*``, the mapping given), extensions, blueprints."""
    app = SidecarFlask(__name__, instance_path=config.instance_folder(os.environ.get("PERSONAL_LINKS_INSTANCE_PATH")))
    config.load(app, test_config)
    if app.config["TRUSTED_PROXIES"]:  # the client's address is what the trusted proxies say (the auth throttle)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"])  # type: ignore[method-assign]
    app.url_map.converters["int"] = RowIdConverter
    logs.init_app(app)
    for note in app.extensions.pop(config.STARTUP_NOTES, []):
        app.logger.warning("%s", note)
    monitoring.init_app(app)
    database.db.init_app(app)
    with app.app_context():
        pool_ping.watch(database.db.engine)
    database.migrate.init_app(app, database.db, directory=MIGRATIONS, render_as_batch=True)
    state.init_app(app)
    i18n.init_app(app)
    sessions.init_app(app)

    import webhooks.models  # noqa: F401  (the inbox tables belong to the app's metadata)
    from plugin import health, manifest, openapi, public, text_guard
    from plugin.api import contact_links, errors, followup, host, inbox, jobs, links, local_segments, people, syncs
    from plugin.api import contacts_made as made_api
    from plugin.api import events as event_api
    from plugin.api import reminder_batches as batches_api
    from plugin.api import suppressions as suppression_api
    from plugin.pages import auth, preview, share, surveys
    from plugin.pages import contacts as contact_pages
    from plugin.pages import events as event_pages
    from plugin.pages import host as host_page
    from webhooks import receiver

    errors.init_app(app)
    text_guard.init_app(app)
    receiver.init_app(app)
    api = (contact_links, links, people, followup, made_api, batches_api, suppression_api, jobs, inbox,
           local_segments, syncs, host, event_api)
    pages = (auth, surveys, share, preview, contact_pages, host_page, event_pages)
    for module in (public, health, monitoring, openapi, manifest, *api, *pages, receiver):
        app.register_blueprint(module.bp)
    return app
