"""``personal-links host check`` and its API against the fake Formbricks in 4.x and 5.x shapes: the report's
lines, what each says to do, and an exit code that follows what is missing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from plugin.cli import cli
from plugin.db import db
from plugin.manifest import manifest
from plugin.services.host import host_check
from tests.helpers import NOW, PUBLIC_URL, SECRET_KEY
from tests.plugin.formbricks_host import FakeHost
from tests.servers import serve_in_thread
from webhooks.models import WebhookRegistration


@pytest.fixture
def probed(monkeypatch) -> list[str]:
    """The URLs the check probed; each answers as a reachable receiver (the test's PUBLIC_URL is not served)."""
    seen: list[str] = []
    monkeypatch.setattr(host_check, "post_test_event", lambda url: seen.append(url))
    return seen


@pytest.fixture
def run(app, database_url, fake_host: FakeHost, monkeypatch):
    settings = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL,
                **fake_host.settings()}
    for name, value in settings.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)

    def invoke(*args: str) -> Result:
        result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
        db.session.rollback()
        return result

    return invoke


def lines(result: Result) -> dict[str, str]:
    """The report's lines by name: ``status: detail`` (the marks as printed)."""
    found = {}
    for text in result.output.splitlines():
        if text.startswith("["):
            mark, rest = text[1:].split("] ", 1)
            name, detail = rest.split(": ", 1)
            found[name] = f"{mark.strip()}: {detail}"
    return found


def test_before_install_the_report_says_to_install_and_exits_1(run, fake_host: FakeHost, probed) -> None:
    result = run("host", "check")
    assert result.exit_code == 1
    found = lines(result)
    assert found["host"].startswith(f"ok: Formbricks {fake_host.version}.x (tested against")
    assert found["key permission"].startswith("ok: the key has 'manage'")
    assert found["contacts"].startswith("ok: Enterprise contacts available")
    assert found["surveys"].startswith("warn: no survey of this host is registered")
    assert found["webhook"] == "FAIL: no webhook of ours is registered on the host"
    assert "-> run personal-links install" in result.output
    assert result.output.rstrip().endswith("missing: webhook")
    assert probed == [f"{PUBLIC_URL}/webhooks/formbricks"]


def test_after_install_everything_is_ok_and_it_exits_0(run, fake_host: FakeHost, probed) -> None:
    assert run("install", "--survey", "sv_1").exit_code == 0
    before = len(fake_host.state.requests_seen)
    result = run("host", "check")
    assert result.exit_code == 0, result.output
    found = lines(result)
    assert found["survey sv_1"] == ("ok: NPS: link survey, inProgress, hidden field 'plink' present, "
                                    "single-use on")
    assert found["webhook"].startswith("ok: webhook wh_") and "responseFinished" in found["webhook"]
    assert found["webhook secret"].startswith("ok: its secret is held")
    assert found["webhook URL"].startswith(f"ok: {PUBLIC_URL}/webhooks/formbricks answers")
    assert result.output.rstrip().endswith("all needed parts work")
    assert not [seen for seen in fake_host.state.requests_seen[before:] if not seen.startswith("GET ")]  # reads only


def test_a_key_that_cannot_write_fails_the_check(run, fake_host: FakeHost, probed) -> None:
    assert run("install").exit_code == 0
    fake_host.state.permission = "read"
    result = run("host", "check")
    assert result.exit_code == 1
    assert lines(result)["key permission"].startswith("FAIL: the key has 'read'")
    assert "-> give the key 'write' access on the workspace" in result.output


def test_without_the_licence_formbricks_contacts_fail_and_csv_passes(run, fake_host: FakeHost, probed, monkeypatch,
                                                                     tmp_path) -> None:
    assert run("install").exit_code == 0
    fake_host.state.fail_paths["/api/v1/management/contact"] = 403  # as an unlicensed host answers
    failing = run("host", "check")
    assert failing.exit_code == 1 and lines(failing)["contacts"].startswith("FAIL: no Enterprise 'Contacts' licence")
    assert "-> set PERSONAL_LINKS_CONTACT_SOURCE=csv" in failing.output
    monkeypatch.setenv("PERSONAL_LINKS_CONTACT_SOURCE", "csv")
    passing = run("host", "check")
    assert passing.exit_code == 0, passing.output
    assert lines(passing)["contacts"].startswith("ok: no Enterprise licence (Community Edition)")


def test_a_survey_without_the_hidden_field_fails_and_a_paused_one_warns(run, fake_host: FakeHost, probed) -> None:
    assert run("install").exit_code == 0
    fake_host.state.add_survey("sv_paused", name="Paused", status="paused", hidden_fields=["plink"])
    result = run("host", "check", "--survey", "sv_2", "--survey", "sv_paused", "--survey", "sv_gone")
    assert result.exit_code == 1
    found = lines(result)
    assert found["survey sv_2"].startswith("FAIL: Plain: link survey, inProgress, hidden field 'plink' missing")
    assert "Settings > Hidden fields, turn hidden fields on and add `plink`" in result.output
    assert found["survey sv_paused"].startswith("warn: Paused: link survey, paused")
    assert found["survey sv_gone"].startswith("FAIL: get survey sv_gone: not found on Formbricks (404)")


def test_synced_surveys_not_in_use_are_information_and_it_exits_0(run, fake_host: FakeHost, probed) -> None:
    """A workspace has drafts, finished surveys and surveys without the hidden field; only those installed or with
    links that still open are checked, the rest are listed as information."""
    fake_host.state.add_survey("sv_draft", name="Draft", status="draft", hidden_fields=None)
    fake_host.state.add_survey("sv_done", name="Done", status="completed", hidden_fields=["plink"])
    assert run("install", "--survey", "sv_1").exit_code == 0
    assert run("sync").exit_code == 0
    before = len(fake_host.state.requests_seen)
    result = run("host", "check")
    assert result.exit_code == 0, result.output
    found = lines(result)
    assert found["survey sv_1"].startswith("ok: NPS: link survey")  # installed, though it has no links yet
    assert not {"survey sv_2", "survey sv_draft", "survey sv_done"} & set(found)
    assert found["other surveys"] == (
        "info: 3 of the host's surveys are not in use (not installed, no link that still opens), so they are not "
        "checked: sv_2 (Plain: hidden field 'plink' missing), sv_done (Done: completed), sv_draft (Draft: draft, "
        "hidden field 'plink' missing)")
    assert "-> to use one, run personal-links install --survey ID" in result.output
    assert result.output.rstrip().endswith("all needed parts work")
    asked = [seen for seen in fake_host.state.requests_seen[before:] if "/surveys/" in seen]
    assert asked and all("sv_1" in seen for seen in asked)  # the others are read from the sidecar, not the host


def test_a_synced_survey_with_links_that_open_is_checked(run, fake_host: FakeHost, probed, tmp_path) -> None:
    assert run("install", "--survey", "sv_1").exit_code == 0
    assert run("sync").exit_code == 0
    issued = run("links", "issue", "--survey", "sv_2", "--segment", "sg_pro", "-o", str(tmp_path / "l.csv"))
    assert issued.exit_code == 0, issued.output
    result = run("host", "check")
    assert result.exit_code == 1
    assert lines(result)["survey sv_2"].startswith("FAIL: Plain: link survey, inProgress, hidden field 'plink' "
                                                   "missing")
    assert "other surveys" not in lines(result)
    assert result.output.rstrip().endswith("missing: survey sv_2")


def test_a_sync_without_install_says_no_survey_is_in_use(run, fake_host: FakeHost, probed) -> None:
    assert run("install").exit_code == 0 and run("sync").exit_code == 0
    result = run("host", "check")
    assert result.exit_code == 0, result.output
    found = lines(result)
    assert found["surveys"].startswith("warn: no survey of this host is in use: none was named by install and none "
                                       "has a link that still opens")
    assert found["other surveys"].startswith("info: 2 of the host's surveys are not in use")


def test_a_webhook_for_another_url_or_without_its_secret_fails(run, fake_host: FakeHost, probed) -> None:
    assert run("install", "--public-url", "https://old-links.example.org").exit_code == 0
    moved = run("host", "check")
    assert moved.exit_code == 1
    assert "it posts to https://old-links.example.org/webhooks/formbricks" in lines(moved)["webhook"]
    assert run("install").exit_code == 0
    db.session.execute(update(WebhookRegistration).values(secret=""))
    db.session.commit()
    lost = run("host", "check")
    assert lost.exit_code == 1 and lines(lost)["webhook secret"].startswith("FAIL: its secret is not held")


def test_a_wrong_key_is_one_line_that_says_so(run, fake_host: FakeHost, monkeypatch, probed) -> None:
    monkeypatch.setenv("PERSONAL_LINKS_FORMBRICKS_API_KEY", "fbk_wrong")
    result = run("host", "check")
    assert result.exit_code == 1
    assert list(lines(result)) == ["key permission"] and "refused the API key (401)" in result.output
    assert "fbk_wrong" not in result.output


def test_the_webhook_url_is_really_probed(app, fake_host: FakeHost) -> None:
    adapter = fake_host.adapter()
    with serve_in_thread(app) as url:  # the sidecar itself: its receiver answers the host's test event
        report = host_check.check_host(db.session, adapter, app.config, manifest(), url, "plink", [], now=NOW)
    reach = report.lines[-1]
    assert (reach.name, reach.status) == ("webhook URL", "warn")  # it answers, but on a loopback address
    assert "DANGEROUSLY_ALLOW_WEBHOOK_INTERNAL_URLS" in reach.todo
    closed = host_check.check_host(db.session, adapter, app.config, manifest(), "http://127.0.0.1:9", "plink", [],
                                   now=NOW)
    assert closed.lines[-1].status == "fail" and "no answer" in closed.lines[-1].detail


def test_the_api_answers_the_same_report(app, client, api_headers, fake_host: FakeHost, probed, monkeypatch) -> None:
    for name, value in fake_host.settings().items():
        app.config[name] = value
    answer = client.get("/api/personal-links/v1/host/check?survey=sv_1", headers=api_headers)
    assert answer.status_code == 200 and answer.content_type == "application/json"
    report = answer.get_json()["data"]
    assert report["ok"] is False
    by_name = {line["name"]: line for line in report["lines"]}
    assert by_name["survey sv_1"]["status"] == "ok"
    assert by_name["webhook"] == {"name": "webhook", "status": "fail", "todo": "run personal-links install",
                                  "detail": "no webhook of ours is registered on the host"}
    assert client.get("/api/personal-links/v1/host/check").status_code == 401
    refused = client.get("/api/personal-links/v1/host/check?survey=" + "x" * 300, headers=api_headers)
    assert refused.status_code == 422 and refused.get_json()["error"]["details"][0]["field"] == "survey"


def test_without_a_survey_host_the_check_says_what_to_set(app, client, api_headers) -> None:
    report = client.get("/api/personal-links/v1/host/check", headers=api_headers).get_json()["data"]
    assert report["ok"] is False
    assert report["lines"][0]["todo"].startswith("set PERSONAL_LINKS_SURVEY_HOST=formbricks")
