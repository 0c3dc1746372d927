"""Sync end to end against the fake Formbricks over real HTTP: all or nothing, idempotent, recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.base import AdapterError
from adapters.csv_file import CsvContactSource
from plugin.db import db
from plugin.models import AuditEvent, Contact, Link, Segment, Survey, SyncRun
from plugin.services.contacts.local_segments import save_local_segment
from plugin.services.host.sync import STEPS, sync
from plugin.services.links import links
from plugin.services.links.params import IssueOptions
from tests.helpers import NOW
from tests.plugin.formbricks_host import PRO, FakeHost, members, serve, snapshot


def test_sync_pulls_contacts_segments_and_surveys(app, fake_host: FakeHost) -> None:
    adapter = fake_host.adapter()
    steps: list[str] = []
    result = sync(db.session, adapter, adapter, NOW, "test", progress=steps.append)
    assert steps == list(STEPS)
    assert (result.added, result.changed, result.removed, result.segments, result.surveys) == (3, 0, 0, 1, 2)
    ada = db.session.scalar(select(Contact).where(Contact.host_id == "c_ada"))
    assert (ada.custom_id, ada.email, ada.first_name, ada.attributes, ada.source) == (
        "u-ada", "ada@example.org", "Ada", {"plan": "pro"}, "formbricks")
    segment = db.session.get(Segment, "sg_pro")
    assert (segment.kind, segment.title, segment.filters) == ("host", "Pro users", PRO)
    assert members("sg_pro") == ["c_ada", "c_cy"]
    nps = db.session.get(Survey, "sv_1")
    assert (nps.source, nps.hidden_field_ids, nps.single_use, nps.public_url) == (
        "formbricks", ["plink"], True, f"{fake_host.url}/s/sv_1")
    assert db.session.get(Survey, "sv_2").hidden_field_ids == []
    run = db.session.get(SyncRun, result.run_id)
    assert (run.status, run.added, run.segments, run.surveys, run.error) == ("succeeded", 3, 1, 2, None)


def test_a_second_sync_changes_nothing(app, fake_host: FakeHost) -> None:
    adapter = fake_host.adapter()
    sync(db.session, adapter, adapter, NOW, "test")
    save_local_segment(db.session, "pros", {"title": "Pros", "filters": PRO}, NOW)
    db.session.commit()
    before = snapshot()
    again = sync(db.session, adapter, adapter, NOW + timedelta(hours=1), "test")
    assert (again.added, again.changed, again.removed) == (0, 0, 0)
    assert snapshot() == before
    assert db.session.scalar(select(func.count()).select_from(SyncRun).where(SyncRun.status == "succeeded")) == 2


def test_a_contact_gone_from_the_host_is_deleted_and_its_live_link_revoked(app, fake_host: FakeHost) -> None:
    adapter = fake_host.adapter()
    sync(db.session, adapter, adapter, NOW, "test")
    bob = links.get_contact(db.session, "c_bob")
    links.issue_links(db.session, db.session.get(Survey, "sv_2"), select(Contact.id).where(Contact.id == bob.id),
                      IssueOptions(), NOW, "test")
    db.session.commit()
    del fake_host.state.contacts["c_bob"]
    later = NOW + timedelta(days=1)
    result = sync(db.session, adapter, adapter, later, "sync")
    assert result.removed == 1
    db.session.refresh(bob)
    assert bob.deleted_at == later
    link = db.session.scalar(select(Link).where(Link.contact_id == bob.id))
    assert link.revoked_at == later and not link.is_current
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "revoked"))
    assert (event.link_id, event.actor, event.detail) == (link.id, "sync", {"reason": "contact deleted"})


def test_a_host_failing_mid_sync_leaves_the_previous_state_whole(app, fake_host: FakeHost) -> None:
    adapter = fake_host.adapter()
    sync(db.session, adapter, adapter, NOW, "test")
    before = snapshot()
    state = fake_host.state
    del state.contacts["c_bob"]
    state.add_contact("c_new", userId="u-new", plan="pro")
    state.surveys["sv_2"]["name"] = "Renamed"
    state.fail_paths["/api/v1/management/surveys"] = 500  # contacts answer, surveys do not
    with pytest.raises(AdapterError, match="500"):
        sync(db.session, adapter, adapter, NOW + timedelta(hours=1), "test")
    assert snapshot() == before
    run = db.session.scalar(select(SyncRun).order_by(SyncRun.id.desc()))
    assert run.status == "failed" and "500" in run.error and run.finished_at is not None
    assert any(seen.startswith("GET /api/v1/management/contacts") for seen in state.requests_seen)


def test_community_edition_contacts_from_csv_surveys_from_formbricks(app) -> None:
    for host in serve("5", licensed=False):
        csv = CsvContactSource(text="id,email,segments,plan\nk1,a@x.org,Team,pro\nk2,b@x.org,Team;VIP,free\n")
        result = sync(db.session, csv, host.adapter(), NOW, "test")
        assert (result.added, result.segments, result.surveys) == (2, 2, 2)
        assert db.session.get(Segment, "vip").kind == "static" and members("team") == ["k1", "k2"]
        assert db.session.get(Survey, "sv_1").single_use is True
        assert not any("/contact" in seen for seen in host.state.requests_seen)


def test_without_the_licence_formbricks_as_contact_source_says_to_use_csv(app) -> None:
    for host in serve("5", licensed=False):
        adapter = host.adapter()
        with pytest.raises(AdapterError, match="PERSONAL_LINKS_CONTACT_SOURCE=csv"):
            sync(db.session, adapter, adapter, NOW, "test")
        run = db.session.scalar(select(SyncRun))
        assert run.status == "failed" and "Community Edition" in run.error
        assert db.session.scalar(select(func.count()).select_from(Survey)) == 0


def test_local_segments_are_evaluated_on_every_sync(app, fake_host: FakeHost) -> None:
    save_local_segment(db.session, "pros", {"title": "Pros", "filters": PRO}, NOW)
    db.session.commit()
    assert members("pros") == []
    adapter = fake_host.adapter()
    sync(db.session, adapter, adapter, NOW, "test")
    assert members("pros") == ["c_ada", "c_cy"]
    fake_host.state.contacts["c_cy"]["plan"] = "free"
    sync(db.session, adapter, adapter, NOW + timedelta(hours=1), "test")
    assert members("pros") == ["c_ada"]
    assert db.session.get(Segment, "pros").kind == "local"


def test_the_scheduled_sync_job_runs_the_same_sync_and_records_both_runs(app, fake_host: FakeHost) -> None:
    from plugin.jobs.runner import run_job
    from plugin.models import JobRun
    from plugin.services.host.adapters import OVERRIDE_KEY, Adapters

    adapter = fake_host.adapter()
    app.extensions[OVERRIDE_KEY] = Adapters(adapter, adapter)
    outcome = run_job(app, "sync")
    assert outcome.status == "succeeded"
    assert outcome.counts == {"added": 3, "changed": 0, "removed": 0, "segments": 1, "surveys": 2}
    assert db.session.scalar(select(SyncRun.actor)) == "scheduler"
    assert db.session.scalar(select(JobRun.job)) == "sync"
    assert run_job(app, "sync").status == "skipped"  # same period: another run already had it


def test_the_sync_job_without_adapters_does_nothing(app) -> None:
    from plugin.jobs.runner import run_job

    assert run_job(app, "sync", trigger="cli").counts == {"skipped": 1}


def test_an_unexpected_error_still_ends_the_run_as_failed(app, fake_host: FakeHost, monkeypatch) -> None:
    adapter = fake_host.adapter()

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("plugin.services.host.sync.evaluate_local_segments", broken)
    with pytest.raises(ZeroDivisionError):
        sync(db.session, adapter, adapter, NOW, "test")
    run = db.session.scalar(select(SyncRun))
    assert (run.status, run.error) == ("failed", "ZeroDivisionError: a bug")
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0  # rolled back whole


def test_a_second_sync_while_one_runs_is_refused_and_recorded(app, fake_host: FakeHost) -> None:
    from plugin.errors import Refused

    adapter = fake_host.adapter()
    db.session.add(SyncRun(started_at=NOW - timedelta(minutes=5), status="running", actor="scheduler"))
    db.session.commit()
    with pytest.raises(Refused, match="is still running"):
        sync(db.session, adapter, adapter, NOW, "cli")
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
    runs = db.session.execute(select(SyncRun.actor, SyncRun.status).order_by(SyncRun.id)).all()
    assert runs == [("scheduler", "running"), ("cli", "failed")]
    # a run left "running" by a process that died long ago does not block for ever
    later = sync(db.session, adapter, adapter, NOW + timedelta(hours=1), "cli")
    assert later.added == 3


def test_a_contact_file_bad_on_its_last_row_fails_the_sync_and_changes_nothing(app, tmp_path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("id,email,segments\nk1,a@x.org,Team\nk2,b@x.org,Team\n", encoding="utf-8")
    assert sync(db.session, CsvContactSource(good), None, NOW, "test").added == 2
    before = snapshot()
    bad = tmp_path / "bad.csv"  # read while applied: the new rows are written before the bad one is reached
    bad.write_text("id,email,segments\n" + "".join(f"n{i},n{i}@x.org,Team\n" for i in range(6000)) + "k1,a,b,c\n",
                   encoding="utf-8")
    with pytest.raises(AdapterError, match="line 6002: 4 cells where the header has 3"):
        sync(db.session, CsvContactSource(bad), None, NOW + timedelta(minutes=1), "test")
    assert snapshot() == before
    run = db.session.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()
    assert run.status == "failed" and "line 6002" in run.error


def test_a_hand_edit_keeps_a_synced_survey_the_hosts(app, client, api_headers, fake_host_v5: FakeHost) -> None:
    """PUT /surveys/{id} changes what it names, not where the survey comes from: the next sync still sees it
    gone from the host (and host check still checks it)."""
    adapter = fake_host_v5.adapter()
    sync(db.session, adapter, adapter, NOW, "test")
    db.session.commit()
    api = "/api/personal-links/v1/surveys"
    edited = client.put(f"{api}/sv_2", headers=api_headers, json={"name": "Plain, renamed", "language": "de"})
    assert edited.status_code == 200 and edited.get_json()["data"]["source"] == "formbricks"
    made = client.put(f"{api}/by-hand", headers=api_headers, json={"publicUrl": "https://f.example/s/by-hand"})
    assert made.get_json()["data"]["source"] == "manual"
    del fake_host_v5.state.surveys["sv_2"]
    sync(db.session, adapter, adapter, NOW + timedelta(hours=1), "test")
    db.session.commit()
    assert {row.id: (row.source, row.status) for row in db.session.scalars(select(Survey))} == {
        "sv_1": ("formbricks", "inProgress"), "sv_2": ("formbricks", "deleted"), "by-hand": ("manual", "inProgress")}
