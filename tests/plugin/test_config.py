"""Settings: every one documented in the README; bad values stop start-up with what to set."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin import create_app
from plugin.config import SETTINGS, ConfigError
from tests.helpers import PUBLIC_URL, SECRET_KEY

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented() -> None:
    text = README.read_text()
    missing = [name for name in SETTINGS if f"`PERSONAL_LINKS_{name}`" not in text]
    assert missing == []


@pytest.mark.parametrize("config, message", [
    ({"SECRET_KEY": None}, "PERSONAL_LINKS_SECRET_KEY is not set"),
    ({"PUBLIC_URL": None}, "PERSONAL_LINKS_PUBLIC_URL is not set"),
    ({"PUBLIC_URL": "links.example.com"}, "must start with http"),
    ({"HIDDEN_FIELD": "userId"}, "reserved"),
    ({"HIDDEN_FIELD": "suId"}, "reserved"),
    ({"MAX_CONTENT_LENGTH": "lots"}, "must be an integer"),
    ({"DATABASE_URL": "not a url"}, "is not a database URL"),
    ({"DATABASE_URL": "mysql://u@h/db"}, "names 'mysql'"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be plain or json"),
    ({"SCHEDULER": "sometimes"}, "SCHEDULER must be in-process or off"),
])
def test_bad_settings_stop_start_up(config, message, tmp_path: Path) -> None:
    base = {"SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    with pytest.raises(ConfigError, match=message):
        create_app({**base, **config})


def test_environment_settings_and_key_fallbacks(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PERSONAL_LINKS_SECRET_KEY", "12345")  # JSON-looking values stay strings
    monkeypatch.setenv("PERSONAL_LINKS_SECRET_KEY_FALLBACKS", "old-one, old-two")
    monkeypatch.setenv("PERSONAL_LINKS_PUBLIC_URL", "https://l.example.org/")
    monkeypatch.setenv("PERSONAL_LINKS_DATABASE_URL", "postgres://u@h/db")
    app = create_app()
    assert app.config["SECRET_KEY"] == "12345"
    assert app.config["SECRET_KEY_FALLBACKS"] == ["old-one", "old-two"]
    assert app.config["PUBLIC_URL"] == "https://l.example.org"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
