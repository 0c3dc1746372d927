"""Settings: every one documented in docs/settings.md; bad values stop start-up with what to set."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin import create_app
from plugin.config import SETTINGS, ConfigError
from tests.helpers import PUBLIC_URL, SECRET_KEY

SETTINGS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    text = SETTINGS_PAGE.read_text()
    missing = [name for name in SETTINGS if f"`PERSONAL_LINKS_{name}`" not in text]
    assert missing == []


@pytest.mark.parametrize("config, message", [
    ({"SECRET_KEY": None}, "PERSONAL_LINKS_SECRET_KEY is not set"),
    ({"PUBLIC_URL": None}, "PERSONAL_LINKS_PUBLIC_URL is not set"),
    ({"PUBLIC_URL": "links.example.com"}, "must start with http"),
    ({"PUBLIC_URL": "http://[::1"}, "PERSONAL_LINKS_PUBLIC_URL names no valid host"),
    ({"PUBLIC_URL": "https://links.example.com/\r\nX: 1"}, "PERSONAL_LINKS_PUBLIC_URL holds spaces, control"),
    ({"SURVEY_HOST": "formbricks", "FORMBRICKS_URL": "http://[::1]]/", "FORMBRICKS_API_KEY": "k"},
     "PERSONAL_LINKS_FORMBRICKS_URL names no valid host"),
    ({"SURVEY_HOST": "formbricks", "FORMBRICKS_URL": "http://f.example", "FORMBRICKS_API_KEY": "k",
      "FORMBRICKS_PUBLIC_URL": "https://f.example:99999"}, "PERSONAL_LINKS_FORMBRICKS_PUBLIC_URL has a port"),
    ({"HIDDEN_FIELD": "userId"}, "reserved"),
    ({"HIDDEN_FIELD": "suId"}, "reserved"),
    ({"MAX_CONTENT_LENGTH": "lots"}, "must be an integer"),
    ({"DATABASE_URL": "not a url"}, "is not a database URL"),
    ({"DATABASE_URL": "mysql://u@h/db"}, "names 'mysql'"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be plain or json"),
    ({"SCHEDULER": "sometimes"}, "SCHEDULER must be in-process or off"),
    ({"CLIENT_TIMEOUT_SECONDS": -1}, "CLIENT_TIMEOUT_SECONDS must be 0 or more"),
    ({"CLIENT_MIN_BYTES_PER_SECOND": "fast"}, "CLIENT_MIN_BYTES_PER_SECOND must be an integer"),
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


def test_the_demo_has_an_instance_folder_of_its_own(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("INSTANCE_PATH", "DATABASE_URL", "SECRET_KEY"):
        monkeypatch.delenv(f"PERSONAL_LINKS_{name}", raising=False)
    demo = create_app({"DEMO": True})
    real = create_app({"SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL})
    assert real.instance_path == str(tmp_path / "instance")  # the working directory's, not the checkout's
    assert demo.instance_path == str(tmp_path / "instance" / "demo")
    demo_db = tmp_path / 'instance' / 'demo' / 'personal-links.sqlite3'
    assert demo.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{demo_db}"
    assert real.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance'}/personal-links.sqlite3"
    assert (tmp_path / "instance" / "demo" / "secret_key").is_file()
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_the_instance_path_setting_is_used(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PERSONAL_LINKS_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    monkeypatch.delenv("PERSONAL_LINKS_DATABASE_URL", raising=False)
    app = create_app({"SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'elsewhere'}/personal-links.sqlite3"


def test_an_older_demo_instance_is_not_taken_for_a_real_one(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text("old demo key\n")
    monkeypatch.setenv("PERSONAL_LINKS_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("PERSONAL_LINKS_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="holds the demo's data of an older version"):
        create_app({"SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL})


def test_the_demo_does_not_seed_the_real_database_of_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PERSONAL_LINKS_DATABASE_URL", f"sqlite:///{tmp_path / 'real.sqlite3'}")
    monkeypatch.setenv("PERSONAL_LINKS_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(ConfigError, match="unset it to run the demo"):
        create_app({"DEMO": True})
    monkeypatch.setenv("PERSONAL_LINKS_DEMO", "true")
    with pytest.raises(ConfigError, match="unset it to run the demo"):
        create_app()
    assert not (tmp_path / "real.sqlite3").exists()
    given = create_app({"DEMO": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"})  # said outright
    assert given.config["SQLALCHEMY_DATABASE_URI"].endswith("demo.sqlite3")


@pytest.mark.parametrize("name, message", [
    ("Example\nResearch", "SENDER_NAME must be one line of printable text"),
    ("\x1b]0;owned\x07", "SENDER_NAME must be one line of printable text"),
    ("x" * 201, "SENDER_NAME must be at most 200 characters"),
])
def test_a_sender_name_the_pages_cannot_show_stops_start_up(name: str, message: str, tmp_path: Path) -> None:
    base = {"SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    with pytest.raises(ConfigError, match=message):
        create_app({**base, "SENDER_NAME": name})
    assert create_app({**base, "SENDER_NAME": "  Example Research  "}).config["SENDER_NAME"] == "Example Research"
