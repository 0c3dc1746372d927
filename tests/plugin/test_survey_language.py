"""A survey's language: taken from the Formbricks survey's default language on sync, set by the CLI; it picks
the text of the survey's respondent pages."""

from __future__ import annotations

from click.testing import CliRunner

from adapters.formbricks_records import survey_from_api
from plugin.cli import cli
from plugin.db import db
from plugin.models import Survey
from plugin.services.host.surveys import save_survey
from plugin.services.host.sync import sync
from tests.helpers import NOW, PUBLIC_URL, SECRET_KEY
from tests.plugin.formbricks_host import FakeHost

GERMAN_FIRST = [{"default": False, "enabled": True, "language": {"id": "l1", "code": "en", "alias": None}},
                {"default": True, "enabled": True, "language": {"id": "l2", "code": "de", "alias": "Deutsch"}}]


def test_the_default_language_of_a_multi_language_survey() -> None:
    base = {"id": "sv", "name": "S", "type": "link", "status": "inProgress"}
    assert survey_from_api({**base, "languages": GERMAN_FIRST}, "https://f.example").language == "de"
    assert survey_from_api({**base, "languages": []}, "https://f.example").language is None
    assert survey_from_api(base, "https://f.example").language is None
    odd = [{"default": True, "language": {"code": "<b>"}}]
    assert survey_from_api({**base, "languages": odd}, "https://f.example").language is None


def test_sync_takes_the_hosts_language_and_keeps_a_hand_set_one_otherwise(app, fake_host: FakeHost) -> None:
    fake_host.state.surveys["sv_1"]["languages"] = GERMAN_FIRST
    adapter = fake_host.adapter()
    sync(db.session, adapter, adapter, NOW, "test")
    assert db.session.get(Survey, "sv_1").language == "de"
    assert db.session.get(Survey, "sv_2").language is None
    db.session.get(Survey, "sv_2").language = "en"  # set by hand (PUT); the host names none
    db.session.commit()
    sync(db.session, adapter, adapter, NOW, "test")
    assert db.session.get(Survey, "sv_2").language == "en"


def test_surveys_add_with_a_language(app, database_url, monkeypatch) -> None:
    for name, value in {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL}.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)
    runner = CliRunner()
    added = runner.invoke(cli, ["surveys", "add", "sv", "--url", "https://f.example/s/sv", "--language", "de"], obj={})
    assert added.exit_code == 0, added.output
    db.session.rollback()
    assert db.session.get(Survey, "sv").language == "de"
    refused = runner.invoke(cli, ["surveys", "add", "sv", "--url", "https://f.example/s/sv", "--language", "x y"],
                            obj={})
    assert refused.exit_code != 0 and "language" in refused.output and "Traceback" not in refused.output


def test_a_language_that_does_not_ship_is_refused_when_set_by_hand(app, client, api_headers, run) -> None:
    """The help promises en or de: by hand (API, CLI) a tag of another language is refused, not stored to be
    ignored by every page; a host's survey keeps the language the host names."""
    added = run("surveys", "add", "sv", "--url", "https://f.example/s/sv", "--language", "fr")
    assert added.exit_code == 1 and added.output.count("\n") == 1
    assert "language" in added.output and "en, de" in added.output
    assert db.session.get(Survey, "sv") is None
    assert run("surveys", "add", "sv", "--url", "https://f.example/s/sv", "--language", "de-AT").exit_code == 0
    url = "/api/personal-links/v1/surveys/sv"
    refused = client.put(url, json={"language": "fr"}, headers=api_headers)
    assert refused.status_code == 422 and refused.get_json()["error"]["details"][0]["field"] == "language"
    assert client.put(url, json={"language": "en"}, headers=api_headers).get_json()["data"]["language"] == "en"
    save_survey(db.session, "sv", {"language": "fr"}, NOW, "plink", source="formbricks")
    assert db.session.get(Survey, "sv").language == "fr"
    assert client.put(url, json={"name": "Renamed"}, headers=api_headers).status_code == 200  # fr is not re-checked
