"""The configured adapters: a contact source and a survey host, built by name from the settings.

When both are the same host (Formbricks with the Contacts licence) they are one instance, so they share one
HTTP session and one rate limit. A CSV source is built afresh each time, so every sync reads the file anew.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask

from adapters.base import ContactSource, SurveyHost
from adapters.registry import contact_source_class, survey_host_class

# Tests (and embedding applications) may put a ready Adapters here; it is used instead of the settings.
OVERRIDE_KEY = "personal_links_adapters"
HOST_KEY = "personal_links.survey_host"


@dataclass(frozen=True, slots=True)
class Adapters:
    """The contact source and survey host; either is None when not configured."""

    contact_source: ContactSource | None
    survey_host: SurveyHost | None


def survey_host(config: Mapping[str, Any]) -> SurveyHost | None:
    """The survey host ``SURVEY_HOST`` names; None when empty (surveys registered by hand)."""
    name = str(config.get("SURVEY_HOST") or "")
    return survey_host_class(name).from_config(config) if name else None  # type: ignore[no-any-return]


def contact_source(config: Mapping[str, Any], host: SurveyHost | None = None) -> ContactSource | None:
    """The contact source ``CONTACT_SOURCE`` names, or ``host`` itself when it is the same adapter.

    None when there is nothing to sync from: no source, or the csv source without ``CONTACTS_CSV`` (contacts
    are then imported by hand with ``personal-links contacts import``).
    """
    name = str(config.get("CONTACT_SOURCE") or "")
    if not name or (name == "csv" and not config.get("CONTACTS_CSV")):
        return None
    if host is not None and host.name == name:
        return host  # type: ignore[return-value]
    return contact_source_class(name).from_config(config)  # type: ignore[no-any-return]


def from_config(config: Mapping[str, Any]) -> Adapters:
    """Both adapters; ConfigurationError when a name is unknown or a needed setting is missing."""
    host = survey_host(config)
    return Adapters(contact_source(config, host), host)


def _app_host(app: Flask) -> SurveyHost | None:
    """The app's one survey host, built on first use and kept: its HTTP session and its rate limiter (under the
    host's 100 requests a minute per key) must be shared by every request, job and sync of the process."""
    if HOST_KEY not in app.extensions:
        app.extensions[HOST_KEY] = survey_host(app.config)
    return app.extensions[HOST_KEY]  # type: ignore[no-any-return]


def configured(app: Flask) -> Adapters:
    """The app's adapters: the override when one is set; else the kept survey host and a contact source built
    now (a CSV source reads its file when built, so each sync sees the file as it is)."""
    override = app.extensions.get(OVERRIDE_KEY)
    if isinstance(override, Adapters):
        return override
    host = _app_host(app)
    return Adapters(contact_source(app.config, host), host)


def survey_host_provider(app: Flask) -> Callable[[], SurveyHost | None]:
    """A function giving the survey host, built only when called (issuing asks for it on single-use only)."""

    def provide() -> SurveyHost | None:
        override = app.extensions.get(OVERRIDE_KEY)
        return override.survey_host if isinstance(override, Adapters) else _app_host(app)

    return provide
