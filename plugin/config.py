"""Settings: defaults, then ``PERSONAL_LINKS_*`` from the environment, then the test mapping; checked once.

Every setting is documented in the settings table of docs/settings.md; ``SETTINGS`` below is the list it is
made from.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from plugin.config_checks import (
    PREFIX,
    ConfigError,
    as_bool,
    check_adapters,
    check_database_url,
    metrics_settings,
    normalise_database_url,
    sender_name,
    session_cookie,
    url_setting,
    webhook_secrets,
)

HOST_RESERVED_HIDDEN_FIELDS = frozenset(
    "userId source suid end start welcomeCard hidden verifiedEmail multiLanguage embed verify".split()
)
HOST_RESERVED_PARAMETERS = frozenset(
    "lang embed preview startAt offlineSupport verify suId suToken source userId".split()
)

# name -> (default, description). The table of settings in docs/settings.md says the same.
SETTINGS: dict[str, tuple[Any, str]] = {
    "DATABASE_URL": (None, "SQLAlchemy URL; default a SQLite file in the instance folder"),
    "SECRET_KEY": (None, "signs link tokens and admin sessions; required outside demo mode"),
    "SECRET_KEY_FALLBACKS": ("", "comma-separated older keys that still verify (key rotation)"),
    "PUBLIC_URL": (None, "the base of every personal link, e.g. https://links.example.com"),
    "HIDDEN_FIELD": ("plink", "the survey's hidden field that carries the token"),
    "CONTACT_SOURCE": ("csv", "where contacts and segments come from: csv or formbricks"),
    "CONTACTS_CSV": (None, "the contact file the csv source reads"),
    "SURVEY_HOST": ("", "where surveys live: empty (registered by hand) or formbricks"),
    "FORMBRICKS_URL": (None, "the Formbricks API URL, e.g. https://forms.example.com"),
    "FORMBRICKS_PUBLIC_URL": (None, "the Formbricks URL respondents see, when it differs from the API URL"),
    "FORMBRICKS_API_KEY": (None, "a Formbricks API key (read, write, manage on the workspace); never logged"),
    "FORMBRICKS_WORKSPACE_ID": (None, "the Formbricks workspace (5.x) or environment (4.x) id; default the key's"),
    "FORMBRICKS_TIMEOUT": (10.0, "seconds to wait for each Formbricks request"),
    "SENDER_NAME": ("", "who sends the surveys (your organisation), named on the respondent pages beside the "
                        "survey's name; empty: not named"),
    "DEMO": (False, "demo mode: generated key, bundled contacts and a demo survey"),
    "MAX_CONTENT_LENGTH": (1024 * 1024, "largest request body accepted, in bytes"),
    "CLIENT_TIMEOUT_SECONDS": (10, "seconds a request's headers may take to arrive, and its body before it is held to "
                                   "CLIENT_MIN_BYTES_PER_SECOND; slower: 408, connection closed (0: no floor)"),
    "CLIENT_MIN_BYTES_PER_SECOND": (500, "the rate a request body must keep up after CLIENT_TIMEOUT_SECONDS"),
    "MAX_LINKS_PER_REQUEST": (250, "largest page of the JSON segment endpoint (the host allows 250)"),
    "LOG_LEVEL": ("INFO", "logging level of the sidecar's loggers: DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    "METRICS": ("off", "on: count, and serve GET /metrics (Prometheus text format) behind METRICS_TOKEN or "
                       "on the separate address of personal-links metrics-server; off: 404, nothing counted"),
    "METRICS_TOKEN": (None, "the bearer token a scraper sends to GET /metrics (16 characters or more); without "
                            "it /metrics answers 404 and only personal-links metrics-server serves the numbers"),
    "METRICS_DIR": (None, "the folder where every server process writes its metrics (prometheus_client's "
                          "multiprocess mode); default the instance folder's metrics/; emptied at server start"),
    "LOG_FORMAT": ("plain", "log line format on stderr: plain (text) or json (one JSON object per line)"),
    "SCHEDULER": ("in-process", "where scheduled jobs run: in-process (in the server) or off"),
    "PURGE_INTERVAL_SECONDS": (3600, "how often the purge job runs (0: never)"),
    "RETRY_INTERVAL_SECONDS": (60, "how often failed webhook deliveries are retried (0: never)"),
    "RETRY_MAX_ATTEMPTS": (10, "attempts before a failed webhook delivery is flagged dead for the admin"),
    "SYNC_INTERVAL_SECONDS": (900, "how often contacts, segments and surveys are synced (0: never)"),
    "RECONCILE_INTERVAL_SECONDS": (600, "how often the host's responses are reconciled (0: never)"),
    "REMINDER_RELEASE_INTERVAL_SECONDS": (60, "how often reminder batches left open past their timeout are "
                                              "released, and Idempotency-Keys older than a day forgotten (0: never)"),
    "REMINDER_BATCH_TIMEOUT_MINUTES": (30, "minutes a reminder batch waits to be confirmed; after that the release "
                                           "job frees its contacts (due again, no contact made)"),
    "OPEN_FLUSH_MS": (100, "milliseconds a link's open waits in the server process before it is written with the "
                           "others of that interval (0: each in its own request); lost on a crash, not on a stop"),
    "EVENTS_INTERVAL_SECONDS": (5, "how often outbound events are sent to their subscriptions (0: never; "
                                   "personal-links events deliver sends them once)"),
    "EVENTS_RETRY_HOURS": (24, "hours an outbound event is retried (backoff with jitter) before it is dead"),
    "EVENTS_TIMEOUT_SECONDS": (5, "seconds to wait for a subscription's receiver to connect, and for each read"),
    "EVENTS_SENDERS": (8, "outbound event requests a process sends at once (its sender threads)"),
    "EVENTS_RETENTION_DAYS": (30, "days a delivered or dead outbound event is kept in the delivery log"),
    "ERASURE_INTERVAL_SECONDS": (60, "how often tickets of anonymous surveys' responses are overwritten on the host "
                                     "(0: never; docs/anonymity.md)"),
    "ERASURE_DELAY_SECONDS": (300, "seconds after an anonymous survey's finished response before its ticket is "
                                   "first overwritten on the host (every delivery of the response arrives first)"),
    "TOKEN_RETENTION_DAYS": (30, "days after expiry until a link's token stops being recognised"),
    "LINK_RETENTION_DAYS": (365, "days after expiry until a link's row is deleted"),
    "INBOX_RETENTION_DAYS": (30, "days an applied or ignored webhook delivery is kept"),
    "JOB_STALE_AFTER_INTERVALS": (3, "health reports a job stale after this many intervals without success"),
    "JOB_FAILURE_LIMIT": (3, "health reports a job failing after this many failed runs in a row"),
    "AUTH_FAILURE_LIMIT": (10, "wrong API keys (API or sign-in) a client address, or one key prefix, may send per "
                               "window; then wrong keys get 429 until the window ends (a live key always gets in)"),
    "AUTH_FAILURE_WINDOW_SECONDS": (300, "the window of AUTH_FAILURE_LIMIT, in seconds"),
    "TRUSTED_PROXIES": (0, "how many reverse proxies in front of the sidecar add X-Forwarded-For; that many "
                           "entries from its end give the client's address (werkzeug's ProxyFix); 0: the peer's"),
    "ADMIN_SESSION_HOURS": (8, "how long an admin page sign-in lasts, in hours (the cookie's signed age)"),
    "WEBHOOK_SECRETS": ("", "comma-separated whsec_... secrets that verify host webhooks (several: rotation); "
                            "secrets of webhooks registered by the sidecar are read from the database too"),
    "WEBHOOK_ALLOW_UNSIGNED": (False, "accept unsigned webhook deliveries (hosts before Formbricks 4.6); "
                                      "logs a warning for each"),
    "WEBHOOK_MAX_BYTES": (256 * 1024, "largest webhook body accepted, in bytes; larger ones get 413"),
    "LATE_RESPONSES_COUNT": (False, "a response finished after its link expired still uses the link and is "
                                    "attributed; otherwise it is recorded as late only"),
    "DELETE_DUPLICATES_ON_HOST": (False, "delete, on the survey host, a second response to a used-up link "
                                         "(after answering the webhook; needs SURVEY_HOST)"),
}


INTEGER_SETTINGS = (
    "PURGE_INTERVAL_SECONDS",
    "RETRY_INTERVAL_SECONDS",
    "RETRY_MAX_ATTEMPTS",
    "RECONCILE_INTERVAL_SECONDS",
    "ERASURE_INTERVAL_SECONDS",
    "ERASURE_DELAY_SECONDS",
    "SYNC_INTERVAL_SECONDS",
    "REMINDER_RELEASE_INTERVAL_SECONDS",
    "REMINDER_BATCH_TIMEOUT_MINUTES",
    "EVENTS_INTERVAL_SECONDS",
    "EVENTS_RETENTION_DAYS",
    "TOKEN_RETENTION_DAYS",
    "LINK_RETENTION_DAYS",
    "INBOX_RETENTION_DAYS",
    "JOB_STALE_AFTER_INTERVALS",
    "JOB_FAILURE_LIMIT",
    "OPEN_FLUSH_MS",
    "CLIENT_TIMEOUT_SECONDS",
    "CLIENT_MIN_BYTES_PER_SECOND",
    "TRUSTED_PROXIES",
)


DEMO_FOLDER = "demo"  # demo mode's instance folder, inside the instance folder
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


STARTUP_NOTES = "personal_links.startup_notes"  # warnings found while loading, logged by the factory


def load(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Fill ``app.config``: defaults, environment, test mapping; then derive and check."""
    app.config.from_mapping({name: default for name, (default, _) in SETTINGS.items()})
    app.config.from_prefixed_env(PREFIX)
    environment_database = app.config["DATABASE_URL"]
    if test_config is not None:
        app.config.from_mapping(test_config)
    if as_bool(app.config["DEMO"]) and environment_database and app.config["DATABASE_URL"] == environment_database:
        # The shell that ran "Running it for real" still exports the real database: the demo must not seed it.
        raise ConfigError(f"demo mode keeps its data in its own instance folder, but {PREFIX}_DATABASE_URL is set "
                          f"(your real database?): unset it to run the demo")
    _finish(app)


def instance_folder(setting: str | None) -> str:
    """The instance folder: ``PERSONAL_LINKS_INSTANCE_PATH``, or ``instance`` in the working directory.

    Not Flask's default (next to the package, i.e. in the checkout whatever the working directory is).
    """
    return str(Path(setting or "instance").expanduser().resolve())


def _finish(app: Flask) -> None:
    config = app.config
    config["DEMO"] = as_bool(config["DEMO"])
    if config["DEMO"]:
        # The demo's key, contacts and survey live in a folder of their own, never in the real instance's.
        app.instance_path = str(Path(app.instance_path) / DEMO_FOLDER)
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        if not config.get("SECRET_KEY"):
            config["SECRET_KEY"] = _instance_secret(app, Path(app.instance_path) / "secret_key")
        config["PUBLIC_URL"] = config["PUBLIC_URL"] or "http://127.0.0.1:5000"
        config["CONTACTS_CSV"] = config["CONTACTS_CSV"] or str(Path(__file__).parent / "demo" / "contacts.csv")
    if not config.get("SECRET_KEY"):
        raise ConfigError(
            f"{PREFIX}_SECRET_KEY is not set: set it to a long random string "
            f"(python -c 'import secrets; print(secrets.token_urlsafe(48))'), or start in demo mode"
        )
    config["SECRET_KEY"] = str(config["SECRET_KEY"])
    fallbacks = config["SECRET_KEY_FALLBACKS"]
    if isinstance(fallbacks, str):
        fallbacks = [key.strip() for key in fallbacks.split(",") if key.strip()]
    config["SECRET_KEY_FALLBACKS"] = [str(key) for key in fallbacks]
    if not config.get("PUBLIC_URL"):
        raise ConfigError(f"{PREFIX}_PUBLIC_URL is not set: set it to the sidecar's public base URL")
    config["PUBLIC_URL"] = url_setting("PUBLIC_URL", str(config["PUBLIC_URL"]).rstrip("/"))
    field = str(config["HIDDEN_FIELD"])
    if not field or " " in field or field in HOST_RESERVED_HIDDEN_FIELDS or field in HOST_RESERVED_PARAMETERS:
        raise ConfigError(f"{PREFIX}_HIDDEN_FIELD {field!r} is reserved by the host or empty; choose another")
    config["HIDDEN_FIELD"] = field
    config["SENDER_NAME"] = sender_name(config["SENDER_NAME"])
    url = config.get("DATABASE_URL")
    if not url:
        if not config["DEMO"] and (Path(app.instance_path) / "secret_key").exists():
            raise ConfigError(
                f"{app.instance_path} holds the demo's data of an older version (its secret_key and database): "
                f"move the folder away, or set {PREFIX}_INSTANCE_PATH; the demo now keeps its data in "
                f"{Path(app.instance_path) / DEMO_FOLDER}")
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(app.instance_path) / 'personal-links.sqlite3'}"
    config["SQLALCHEMY_DATABASE_URI"] = check_database_url(normalise_database_url(str(url)))
    # A server connection can drop (a PostgreSQL restart): plugin.db.pool_ping tests one at checkout when it idled,
    # not on every checkout (one round trip more on every click and delivery). A SQLite file cannot drop.
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": False})
    for name in ("WEBHOOK_ALLOW_UNSIGNED", "LATE_RESPONSES_COUNT", "DELETE_DUPLICATES_ON_HOST"):
        config[name] = as_bool(config[name])
    config["WEBHOOK_SECRETS"] = webhook_secrets(config["WEBHOOK_SECRETS"])
    for name in ("MAX_CONTENT_LENGTH", "MAX_LINKS_PER_REQUEST", "ADMIN_SESSION_HOURS", "WEBHOOK_MAX_BYTES",
                 *INTEGER_SETTINGS):
        try:
            config[name] = int(config[name])
        except (TypeError, ValueError):
            raise ConfigError(f"{PREFIX}_{name} must be an integer, got {config[name]!r}") from None
    for name in INTEGER_SETTINGS:
        if config[name] < 0:
            raise ConfigError(f"{PREFIX}_{name} must be 0 or more, got {config[name]}")
    for name in ("AUTH_FAILURE_LIMIT", "AUTH_FAILURE_WINDOW_SECONDS", "REMINDER_BATCH_TIMEOUT_MINUTES",
                 "EVENTS_RETRY_HOURS", "EVENTS_TIMEOUT_SECONDS", "EVENTS_SENDERS"):
        try:
            config[name] = int(config[name])
        except (TypeError, ValueError):
            raise ConfigError(f"{PREFIX}_{name} must be an integer, got {config[name]!r}") from None
        if config[name] < 1:
            raise ConfigError(f"{PREFIX}_{name} must be 1 or more, got {config[name]}")
    if config["SCHEDULER"] not in ("in-process", "off"):
        raise ConfigError(f"{PREFIX}_SCHEDULER must be in-process or off, got {config['SCHEDULER']!r}")
    session_cookie(app)
    check_adapters(config)
    level = str(config["LOG_LEVEL"]).upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{PREFIX}_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {config['LOG_LEVEL']!r}")
    config["LOG_LEVEL"] = level
    log_format = str(config["LOG_FORMAT"]).strip().lower()
    if log_format not in ("plain", "json"):
        raise ConfigError(f"{PREFIX}_LOG_FORMAT must be plain or json, got {config['LOG_FORMAT']!r}")
    config["LOG_FORMAT"] = log_format
    metrics_settings(app)


def _instance_secret(app: Flask, path: Path) -> str:
    """The demo signing key: made once, kept in the instance folder, readable by the owner only."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    # logged by the factory once logging is set up in the configured format
    app.extensions.setdefault(STARTUP_NOTES, []).append(f"generated a new signing key in {path}")
    return key
