"""Single-use surveys get one host URL per new link, in the issuing transaction; the syncs admin API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from click.testing import CliRunner
from sqlalchemy import func, select

from plugin.cli import cli
from plugin.db import db
from plugin.models import Link, SyncRun
from plugin.services.admin.runs import recent_runs
from plugin.services.host.adapters import OVERRIDE_KEY, Adapters
from plugin.services.host.surveys import save_survey
from tests.helpers import NOW, PUBLIC_URL, SECRET_KEY
from tests.plugin.formbricks_host import FakeHost

SV = "sv_1"  # single-use on the fake host


def use_host(app, host: FakeHost) -> None:
    adapter = host.adapter()
    app.extensions[OVERRIDE_KEY] = Adapters(adapter, adapter)


def single_use_survey(host: FakeHost) -> None:
    save_survey(db.session, SV, {"name": "NPS", "publicUrl": f"{host.url}/s/{SV}", "singleUse": True}, NOW,
                "plink", source="formbricks")
    db.session.commit()


def test_each_new_link_of_a_single_use_survey_gets_its_own_host_url(app, client, api_headers, seeded,
                                                                     fake_host: FakeHost) -> None:
    use_host(app, fake_host)
    single_use_survey(fake_host)
    page = client.get(f"/api/v2/management/surveys/{SV}/contact-links/segments/alpha", headers=api_headers)
    assert page.status_code == 200, page.get_json()
    urls = list(db.session.scalars(select(Link.single_use_url)))
    assert len(urls) == 3 and len(set(urls)) == 3
    assert all(url.startswith(f"{fake_host.url}/s/{SV}?suId=") for url in urls)
    asked = [seen for seen in fake_host.state.requests_seen if "singleUseIds" in seen]
    assert asked == [f"GET /api/v1/management/surveys/{SV}/singleUseIds?limit=3"]
    opened = client.get(urlsplit(page.get_json()["data"][0]["surveyUrl"]).path)
    query = parse_qs(urlsplit(opened.headers["Location"]).query)
    assert opened.status_code in (302, 303) and query["suId"] and query["plink"]
    again = client.get(f"/api/v2/management/surveys/{SV}/contact-links/segments/alpha", headers=api_headers)
    assert again.status_code == 200 and len(asked) == 1  # the same links: nothing new to fetch


def test_a_large_batch_is_attached_a_chunk_at_a_time(app, client, api_headers, seeded, fake_host: FakeHost,
                                                     monkeypatch) -> None:
    """The batch's ids are read CHUNK at a time (never all in memory), one host request per chunk."""
    monkeypatch.setattr("plugin.services.links.single_use.CHUNK", 2)
    use_host(app, fake_host)
    single_use_survey(fake_host)
    answer = client.get(f"/api/personal-links/v1/surveys/{SV}/segments/alpha/links.csv", headers=api_headers)
    assert answer.status_code == 200, answer.get_json()
    urls = list(db.session.scalars(select(Link.single_use_url).order_by(Link.id)))
    assert len(urls) == 3 and len(set(urls)) == 3 and all(urls)
    asked = [seen for seen in fake_host.state.requests_seen if "singleUseIds" in seen]
    assert asked == [f"GET /api/v1/management/surveys/{SV}/singleUseIds?limit=2",
                     f"GET /api/v1/management/surveys/{SV}/singleUseIds?limit=1"]


def test_a_host_failure_fails_the_issue_and_leaves_no_link_without_its_url(app, client, api_headers, seeded,
                                                                         fake_host: FakeHost) -> None:
    use_host(app, fake_host)
    single_use_survey(fake_host)
    fake_host.state.fail_paths[f"/api/v1/management/surveys/{SV}/singleUseIds"] = 500
    csv = client.get(f"/api/personal-links/v1/surveys/{SV}/segments/alpha/links.csv", headers=api_headers)
    one = client.get(f"/api/v2/management/surveys/{SV}/contact-links/contacts/c1", headers=api_headers)
    for response in (csv, one):
        assert response.status_code == 502
        assert "single-use links on" in response.get_json()["error"]["detail"]
    assert db.session.scalar(select(func.count()).select_from(Link)) == 0


def test_syncs_api_runs_a_sync_and_lists_the_runs(app, client, api_headers, fake_host: FakeHost) -> None:
    use_host(app, fake_host)
    made = client.post("/api/personal-links/v1/syncs", headers=api_headers)
    assert made.status_code == 200
    assert made.get_json()["data"] | {"id": 0, "startedAt": "", "finishedAt": ""} == {
        "id": 0, "status": "succeeded", "actor": made.get_json()["data"]["actor"], "startedAt": "", "finishedAt": "",
        "added": 3, "changed": 0, "removed": 0, "segments": 1, "surveys": 2, "error": None}
    fake_host.state.fail_paths["/api/v1/management/contacts"] = 500
    failed = client.post("/api/personal-links/v1/syncs", headers=api_headers)
    assert failed.status_code == 502 and "500" in failed.get_json()["error"]["detail"]
    runs = client.get("/api/personal-links/v1/syncs?limit=5", headers=api_headers).get_json()["data"]
    assert [run["status"] for run in runs] == ["failed", "succeeded"]
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 2
    assert client.get("/api/personal-links/v1/syncs").status_code == 401
    panel = recent_runs(db.session)
    assert [(r.kind, r.status) for r in panel] == [("sync", "failed"), ("sync", "ok")]
    assert panel[1].summary.startswith("3 added") and "500" in (panel[0].error or "")


def test_cli_sync_shows_progress_and_a_summary(app, database_url, fake_host: FakeHost, monkeypatch) -> None:
    settings = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL,
                **fake_host.settings()}
    for name, value in settings.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)
    result = CliRunner().invoke(cli, ["sync"], obj={})
    assert result.exit_code == 0, result.output
    assert "syncing" in result.output or "local segments" in result.output
    assert result.output.strip().splitlines()[-1] == (
        "sync 1: contacts 3 added, 0 changed, 0 removed; 1 segments; 2 surveys")
    monkeypatch.setenv("PERSONAL_LINKS_FORMBRICKS_API_KEY", "fbk_wrong")
    wrong = CliRunner().invoke(cli, ["sync"], obj={})
    assert wrong.exit_code == 1 and "refused the API key" in wrong.output


def test_the_survey_host_is_built_once_per_app_so_its_rate_limit_is_shared(database_url) -> None:
    from plugin import create_app
    from plugin.services.host.adapters import configured, survey_host_provider
    from tests.helpers import base_config

    app = create_app(base_config(database_url, SURVEY_HOST="formbricks", FORMBRICKS_URL="https://fb.example.com",
                                 FORMBRICKS_API_KEY="fbk_x"))
    first = configured(app).survey_host
    assert first is not None and configured(app).survey_host is first and survey_host_provider(app)() is first
