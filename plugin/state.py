"""Per-app state kept in ``app.extensions``: the clock, the token signer and the ticket hasher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app

from plugin.clock import Clock, SystemClock
from plugin.db import db
from plugin.services.links.open_log import OpenLog
from plugin.tickets import Tickets
from plugin.tokens import LinkTokens

KEY = "personal_links"


@dataclass
class PluginState:
    """What services need from the app besides the database session."""

    clock: Clock
    tokens: LinkTokens
    public_url: str
    hidden_field: str
    tickets: Tickets
    opens: OpenLog | None = None  # opens written behind the click (OPEN_FLUSH_MS > 0), else in the request

    def link_url(self, link_id: int, survey_id: str) -> str:
        """The personal link of a link row."""
        return self.link_urls(survey_id)(link_id)

    def link_urls(self, survey_id: str) -> Callable[[int], str]:
        """``link_url`` for the links of one survey, by link id (``LinkTokens.maker``: for bulk exports)."""
        return self.tokens.maker(survey_id, prefix=f"{self.public_url}/c/")


def init_app(app: Flask) -> None:
    """Make the state from the app's checked config (after the database is bound)."""
    flush_ms = app.config["OPEN_FLUSH_MS"]
    if flush_ms:
        with app.app_context():
            engine = db.engine
    app.extensions[KEY] = PluginState(
        clock=SystemClock(),
        tokens=LinkTokens(app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"]),
        public_url=app.config["PUBLIC_URL"],
        hidden_field=app.config["HIDDEN_FIELD"],
        tickets=Tickets(app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"]),
        opens=OpenLog(lambda: engine, flush_ms / 1000) if flush_ms else None,
    )


def state() -> PluginState:
    """The current app's state."""
    return current_app.extensions[KEY]  # type: ignore[no-any-return]
