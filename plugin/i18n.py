"""Languages of the respondent pages: Flask-Babel bound to the app, the catalogue in ``plugin/translations``.

Texts are marked with ``gettext``/``lazy_gettext`` (``_`` in templates) and translated in
``plugin/translations/<lang>/LC_MESSAGES/messages.po``; ``make translations`` extracts, updates and compiles.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, has_request_context, request
from flask_babel import Babel

LANGUAGES = ("en", "de")  # shipped; English is the fallback
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}  # as the Share page's previews name them
DEFAULT_LANGUAGE = "en"
TRANSLATIONS = Path(__file__).parent / "translations"

babel = Babel()


def init_app(app: Flask) -> None:
    """Bind Flask-Babel: the shipped catalogue, UTC for times, the language chosen per response."""
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LANGUAGE
    app.config["BABEL_DEFAULT_TIMEZONE"] = "UTC"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    babel.init_app(app, locale_selector=lambda: g.get("language") or DEFAULT_LANGUAGE)


def shipped(tag: str | None) -> str | None:
    """The shipped language a tag such as ``de``, ``de-AT`` or ``de_CH`` names, or None."""
    if not tag:
        return None
    primary = tag.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in LANGUAGES else None


def pick_language(preferred: str | None = None) -> str:
    """The page's language: ``preferred`` (a survey's) when shipped, else the browser's, else English."""
    chosen = shipped(preferred)
    if chosen is None and has_request_context():
        chosen = request.accept_languages.best_match(LANGUAGES)
    return chosen or DEFAULT_LANGUAGE
