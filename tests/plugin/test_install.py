"""install / uninstall against the fake Formbricks over HTTP: one webhook, its secret kept and never shown."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, select

from plugin import create_app
from plugin.cli import cli
from plugin.config import ConfigError
from plugin.db import db
from plugin.models import Survey
from tests.helpers import PUBLIC_URL, SECRET_KEY, base_config
from tests.plugin.formbricks_host import FakeHost
from webhooks.models import WebhookRegistration

HOOK_URL = f"{PUBLIC_URL}/webhooks/formbricks"
EVENTS = ["responseCreated", "responseUpdated", "responseFinished"]


@pytest.fixture
def run(app, database_url, fake_host: FakeHost, monkeypatch, caplog):
    """Run the CLI against the test database and the fake host; log records are captured to look for secrets."""
    settings = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL,
                **fake_host.settings()}
    for name, value in settings.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)
    caplog.set_level(logging.DEBUG)

    def invoke(*args: str) -> Result:
        result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
        db.session.rollback()
        return result

    return invoke


def live() -> list[WebhookRegistration]:
    return list(db.session.scalars(select(WebhookRegistration).where(WebhookRegistration.removed_at.is_(None))))


def assert_secret_never_shown(result: Result, caplog: pytest.LogCaptureFixture, secret: str) -> None:
    assert secret not in result.output and "whsec_" not in result.output
    assert secret not in caplog.text


def test_install_registers_the_manifest_webhook_once_and_keeps_its_secret(run, fake_host: FakeHost, caplog) -> None:
    first = run("install", "--survey", "sv_1")
    assert first.exit_code == 0, first.output
    hooks = list(fake_host.state.webhooks.values())
    assert len(hooks) == 1
    assert (hooks[0]["url"], hooks[0]["triggers"]) == (HOOK_URL, EVENTS)
    [row] = live()
    assert (row.host, row.host_webhook_id, row.url, row.secret) == ("formbricks", hooks[0]["id"], HOOK_URL,
                                                                      hooks[0]["secret"])
    assert "Main workspace" in first.output and "registered at" in first.output
    assert_secret_never_shown(first, caplog, row.secret)
    assert db.session.get(Survey, "sv_1").hidden_field_ids == ["plink"]

    again = run("install", "--survey", "sv_1")
    assert again.exit_code == 0 and "already registered" in again.output
    assert len(fake_host.state.webhooks) == 1 and [r.id for r in live()] == [row.id]


def test_install_with_a_lost_secret_replaces_the_webhook_instead_of_adding_one(run, fake_host: FakeHost) -> None:
    assert run("install").exit_code == 0
    db.session.execute(delete(WebhookRegistration))
    db.session.commit()
    again = run("install")
    assert again.exit_code == 0, again.output
    [hook] = fake_host.state.webhooks.values()
    [row] = live()
    assert row.host_webhook_id == hook["id"] and row.secret == hook["secret"]


def test_install_says_what_to_add_when_the_hidden_field_is_missing(run, fake_host: FakeHost) -> None:
    result = run("install", "--survey", "sv_1", "--survey", "sv_2")
    assert result.exit_code == 1
    assert "survey sv_2 (Plain) does not declare the hidden field 'plink'" in result.output
    assert "Settings > Hidden fields, turn hidden fields on and add `plink`" in result.output
    assert fake_host.state.webhooks == {} and live() == []


def test_install_refuses_an_app_survey_and_a_wrong_key(run, fake_host: FakeHost, monkeypatch) -> None:
    fake_host.state.add_survey("sv_app", name="In-app", type="app", hidden_fields=["plink"])
    assert "is not a link survey (its type is 'app')" in run("install", "--survey", "sv_app").output
    monkeypatch.setenv("PERSONAL_LINKS_FORMBRICKS_API_KEY", "fbk_wrong")
    wrong = run("install")
    assert wrong.exit_code == 1 and "refused the API key (401)" in wrong.output
    assert "fbk_wrong" not in wrong.output


def test_uninstall_removes_what_install_made(run, fake_host: FakeHost) -> None:
    assert run("install", "--survey", "sv_1").exit_code == 0
    [row] = live()
    result = run("uninstall")
    assert result.exit_code == 0 and row.host_webhook_id in result.output
    assert fake_host.state.webhooks == {} and live() == []
    assert db.session.get(WebhookRegistration, row.id).removed_at is not None
    assert "no webhook of ours" in run("uninstall").output


def test_the_formbricks_adapter_without_its_settings_stops_start_up(tmp_path) -> None:
    with pytest.raises(ConfigError, match="PERSONAL_LINKS_FORMBRICKS_URL and PERSONAL_LINKS_FORMBRICKS_API_KEY"):
        create_app(base_config(f"sqlite:///{tmp_path / 'x.db'}", SURVEY_HOST="formbricks"))


def test_a_webhook_made_without_a_secret_is_removed_again(run, fake_host: FakeHost, monkeypatch) -> None:
    from dataclasses import replace

    from adapters.formbricks import FormbricksAdapter

    real = FormbricksAdapter.register_webhook

    def without_secret(self, *args, **kwargs):  # as a host older than 4.6 answers
        return replace(real(self, *args, **kwargs), secret=None)

    monkeypatch.setattr(FormbricksAdapter, "register_webhook", without_secret)
    result = run("install")
    assert result.exit_code == 1 and "without returning a secret" in result.output
    assert fake_host.state.webhooks == {} and live() == []


def changes(fake_host: FakeHost) -> list[str]:
    """The requests that changed something on the host."""
    return [seen for seen in fake_host.state.requests_seen if not seen.startswith("GET ")]


def test_a_second_install_changes_nothing_on_the_host_or_in_the_database(run, fake_host: FakeHost) -> None:
    assert run("install", "--survey", "sv_1").exit_code == 0
    made = changes(fake_host)
    assert made == ["POST /api/v2/management/webhooks"]  # v2 on both versions, in the version's spelling
    hooks = dict(fake_host.state.webhooks)
    rows = [(r.id, r.host_webhook_id, r.secret, r.removed_at) for r in live()]
    again = run("install", "--survey", "sv_1")
    assert again.exit_code == 0 and "already registered" in again.output
    assert changes(fake_host) == made and fake_host.state.webhooks == hooks
    assert [(r.id, r.host_webhook_id, r.secret, r.removed_at) for r in live()] == rows


def test_install_names_the_host_version(run, fake_host: FakeHost) -> None:
    result = run("install")
    assert f"on Formbricks {fake_host.version}.x" in result.output


def test_a_stale_webhook_of_ours_pointing_elsewhere_is_replaced(run, fake_host: FakeHost) -> None:
    assert run("install", "--public-url", "https://old-links.example.org").exit_code == 0
    [old] = fake_host.state.webhooks
    result = run("install")
    assert result.exit_code == 0, result.output
    [hook] = fake_host.state.webhooks.values()
    assert hook["id"] != old and hook["url"] == HOOK_URL
    [row] = live()
    assert (row.host_webhook_id, row.url) == (hook["id"], HOOK_URL)


def test_a_webhook_of_ours_for_only_some_surveys_or_events_is_replaced(run, fake_host: FakeHost) -> None:
    assert run("install").exit_code == 0
    [hook] = fake_host.state.webhooks.values()
    hook["surveyIds"] = ["sv_2"]  # edited on the host: it would miss every other survey
    assert run("install").exit_code == 0
    [again] = fake_host.state.webhooks.values()
    assert again["id"] != hook["id"] and again["surveyIds"] == [] and again["triggers"] == EVENTS


def test_install_and_uninstall_leave_other_webhooks_alone(run, fake_host: FakeHost) -> None:
    spelling = "environmentId" if fake_host.version == "4" else "workspaceId"
    fake_host.state.webhooks["wh_zapier"] = {"id": "wh_zapier", "url": "https://hooks.zapier.com/x",
                                             "triggers": ["responseFinished"], "surveyIds": [],
                                             spelling: fake_host.state.workspace_id}
    assert run("install").exit_code == 0 and run("install").exit_code == 0
    assert run("uninstall").exit_code == 0
    assert list(fake_host.state.webhooks) == ["wh_zapier"]
    assert [seen for seen in changes(fake_host) if seen.startswith("DELETE")] == [
        f"DELETE /api/v2/management/webhooks/{hook_id}" for hook_id in uninstalled(fake_host)]


def uninstalled(fake_host: FakeHost) -> list[str]:
    return [row.host_webhook_id for row in db.session.scalars(select(WebhookRegistration))]


@pytest.mark.parametrize("command", ["install", "uninstall"])
def test_a_hostile_public_url_is_one_line_and_nothing_reaches_the_host(run, fake_host: FakeHost, command) -> None:
    result = run(command, "--public-url", "http://[::1")
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: publicUrl: names no valid host")
    assert fake_host.state.webhooks == {} and live() == []
