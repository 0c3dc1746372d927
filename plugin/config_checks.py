"""The checks of the settings' values, each named in its message by its environment variable: a value the app
uses as it is, or a ConfigError that stops start-up and says what to set. ``plugin.config`` loads the settings and
calls these."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from adapters.urls import BadUrl, check_url
from webhooks.signature import parse_secret

PREFIX = "PERSONAL_LINKS"


class ConfigError(Exception):
    """Raised at start-up when a setting is missing or wrong; the message says what to set."""


MIN_METRICS_TOKEN = 16


def metrics_settings(app: Flask) -> None:
    """METRICS on or off; a token, when given, long enough to be a secret; the folder, the instance folder's."""
    config = app.config
    value = str(config["METRICS"]).strip().lower()
    if value not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"{PREFIX}_METRICS must be on or off, got {config['METRICS']!r}")
    config["METRICS"] = as_bool(value)
    if not config["METRICS"]:
        return
    token = str(config.get("METRICS_TOKEN") or "")
    if token and len(token) < MIN_METRICS_TOKEN:
        raise ConfigError(f"{PREFIX}_METRICS_TOKEN must be a random string of at least {MIN_METRICS_TOKEN} "
                          f"characters (the scraper sends it as a bearer token)")
    config["METRICS_TOKEN"] = token or None
    config["METRICS_DIR"] = str(config.get("METRICS_DIR") or Path(app.instance_path) / "metrics")


def session_cookie(app: Flask) -> None:
    """The admin session cookie: not readable by scripts, not sent on cross-site posts, HTTPS-only on HTTPS."""
    config = app.config
    if config["ADMIN_SESSION_HOURS"] < 1:
        raise ConfigError(f"{PREFIX}_ADMIN_SESSION_HOURS must be at least 1")
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=config["ADMIN_SESSION_HOURS"])
    config["SESSION_COOKIE_NAME"] = "personal_links_session"
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["SESSION_COOKIE_SECURE"] = config["PUBLIC_URL"].startswith("https://")


def check_adapters(config: Any) -> None:
    """The formbricks adapter's settings; unknown adapter names are refused by the registry when first used."""
    for name in ("CONTACT_SOURCE", "SURVEY_HOST"):
        config[name] = str(config[name] or "").strip()
    if "formbricks" in (config["CONTACT_SOURCE"], config["SURVEY_HOST"]):
        missing = [f"{PREFIX}_{name}" for name in ("FORMBRICKS_URL", "FORMBRICKS_API_KEY") if not config.get(name)]
        if missing:
            raise ConfigError(f"the formbricks adapter needs {' and '.join(missing)}")
        for name in ("FORMBRICKS_URL", "FORMBRICKS_PUBLIC_URL"):
            if config.get(name):
                url_setting(name, str(config[name]))
    try:
        config["FORMBRICKS_TIMEOUT"] = float(config["FORMBRICKS_TIMEOUT"])
    except (TypeError, ValueError):
        value = config["FORMBRICKS_TIMEOUT"]
        raise ConfigError(f"{PREFIX}_FORMBRICKS_TIMEOUT must be a number, got {value!r}") from None


def url_setting(name: str, value: str) -> str:
    """``value`` when it passes the one URL rule (``adapters.urls``); a ConfigError naming the setting otherwise."""
    try:
        return check_url(value)
    except BadUrl as exc:  # the value is not repeated: it may hold a password
        raise ConfigError(f"{PREFIX}_{name} {exc}") from exc


def check_database_url(url: str) -> str:
    """A URL SQLAlchemy can read, for SQLite or PostgreSQL (the two databases the sidecar is tested on)."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise ConfigError(f"{PREFIX}_DATABASE_URL is not a database URL: use sqlite:///path/to/file.sqlite3 "
                          f"or postgresql://user@host/database") from None
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"{PREFIX}_DATABASE_URL names {backend!r}: the sidecar runs on sqlite or postgresql")
    return url


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual ways."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def webhook_secrets(value: Any) -> list[str]:
    """The configured webhook secrets, each checked now so a typo stops start-up, not every delivery."""
    listed = value.split(",") if isinstance(value, str) else list(value or ())
    found = [str(secret).strip() for secret in listed if str(secret).strip()]
    for position, secret in enumerate(found, start=1):
        try:
            parse_secret(secret)
        except ValueError as exc:  # the message never contains the secret
            raise ConfigError(f"{PREFIX}_WEBHOOK_SECRETS, secret {position}: {exc}") from None
    return found


MAX_SENDER_NAME = 200


def sender_name(value: Any) -> str:
    """The sender the respondent pages name: one printable line (it is shown to every respondent)."""
    name = str(value or "").strip()
    if not name.isprintable():
        raise ConfigError(f"{PREFIX}_SENDER_NAME must be one line of printable text (no line breaks or control "
                          f"characters)")
    if len(name) > MAX_SENDER_NAME:
        raise ConfigError(f"{PREFIX}_SENDER_NAME must be at most {MAX_SENDER_NAME} characters, got {len(name)}")
    return name


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
