"""The survey list and the Share page through the test client, on both databases."""

from __future__ import annotations

import csv
import io

from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.db import db
from plugin.models import AuditEvent, Contact, Link, Segment
from plugin.services.followup import suppressions
from plugin.services.host.surveys import save_survey
from plugin.services.links.export import HEADER
from tests.helpers import NOW, PUBLIC_URL, SURVEY_ID
from tests.pages.support import csrf_of

SHARE = f"/admin/surveys/{SURVEY_ID}"


def generate(admin: FlaskClient, segment: str, expires_on: str = "") -> tuple[int, str, dict[str, str]]:
    """Post the Personal Links form as a browser without JavaScript would."""
    token = csrf_of(admin.get(SHARE).get_data(as_text=True))
    response = admin.post(f"{SHARE}/links.csv", data={"csrf_token": token, "segment": segment,
                                                      "expiresOn": expires_on})
    return response.status_code, response.get_data(as_text=True), dict(response.headers)


def test_survey_list_shows_status_and_the_missing_hidden_field(admin: FlaskClient, seeded: None) -> None:
    save_survey(db.session, "other", {"name": "No field", "publicUrl": "https://forms.example.com/s/other",
                                      "hiddenFieldIds": [], "status": "paused"}, NOW, "plink")
    db.session.commit()
    html = admin.get("/admin/surveys").get_data(as_text=True)
    assert "Survey one" in html and "inProgress" in html and "paused" in html
    assert html.count("Warning:") == 1
    assert "lacks the hidden field &#39;plink&#39;" in html and "Settings &gt; Hidden fields" in html


def test_share_page_lists_segments_with_counts_and_tomorrow_as_earliest(admin: FlaskClient, seeded: None) -> None:
    html = admin.get(SHARE).get_data(as_text=True)
    assert "Alpha (3\n        contacts)" in html and "Beta (2\n        contacts)" in html
    assert 'min="2026-11-29"' in html
    assert "valid through the whole chosen day and end at 00:00 UTC the day" in html
    assert "No syncs or scheduled runs recorded yet" in html
    assert "Generate &amp; download links" in html


def test_share_page_without_segments_says_how_to_make_one(admin: FlaskClient) -> None:
    save_survey(db.session, SURVEY_ID, {"name": "Survey one", "publicUrl": "https://f.example.com/s/1"}, NOW,
                "plink")
    db.session.commit()
    html = admin.get(SHARE).get_data(as_text=True)
    assert "No segments available" in html and "contacts import" in html
    assert 'id="generate" disabled' in html


def test_generate_downloads_the_hosts_csv_and_counts_the_funnel(admin: FlaskClient, seeded: None) -> None:
    status, body, headers = generate(admin, "alpha", "2026-12-31")
    assert status == 200 and headers["X-Link-Count"] == "3"
    assert headers["Content-Disposition"] == 'attachment; filename="personal-links-survey-1-alpha.csv"'
    rows = list(csv.reader(io.StringIO(body)))
    assert tuple(rows[0]) == HEADER
    assert sorted(row[0] for row in rows[1:]) == ["c1", "c2", "c3"]
    assert all(row[5].startswith(f"{PUBLIC_URL}/c/") for row in rows[1:])
    expiries = set(db.session.scalars(select(Link.expires_at)))
    assert [e.isoformat() for e in expiries] == ["2027-01-01T00:00:00+00:00"]
    html = admin.get(SHARE).get_data(as_text=True)
    assert '<dd data-step="issued">3</dd>' in html and '<dd data-step="revoked">0</dd>' in html


def test_today_is_refused_with_the_reason_and_nothing_is_made(admin: FlaskClient, seeded: None) -> None:
    status, body, _ = generate(admin, "alpha", "2026-11-28")
    assert status == 422
    assert "Generation failed: expiry date: must be 2026-11-29 (tomorrow, UTC) or later" in body
    assert 'value="2026-11-28"' in body and "selected" in body  # the form keeps what was chosen
    assert db.session.scalar(select(Link.id)) is None


def test_an_empty_segment_or_none_chosen_fails_clearly(admin: FlaskClient, seeded: None) -> None:
    db.session.add(Segment(id="empty", title="Empty", created_at=NOW, updated_at=NOW))
    db.session.commit()
    status, body, _ = generate(admin, "empty")
    assert status == 400 and "Generation failed: segment &#39;Empty&#39; has no contacts" in body
    status, body, _ = generate(admin, "")
    assert status == 422 and "Generation failed: segment: choose a segment" in body


def test_non_respondents_are_live_links_without_a_finished_response(admin: FlaskClient, seeded: None) -> None:
    from plugin.models import Contact, ResponseAttribution
    from plugin.services.followup.followup import CSV_HEADER

    generate(admin, "alpha")
    answered = db.session.execute(select(Link.id, Link.contact_id).order_by(Link.id).limit(1)).one()
    db.session.add(ResponseAttribution(response_id="r1", survey_id=SURVEY_ID, link_id=answered.id,
                                       contact_id=answered.contact_id, status="attributed", finished_at=NOW,
                                       created_at=NOW, updated_at=NOW))
    db.session.commit()
    response = admin.get(f"{SHARE}/non-respondents.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == CSV_HEADER and len(rows) == 3
    answered_host_id = db.session.scalar(select(Contact.host_id).where(Contact.id == answered.contact_id))
    assert answered_host_id not in [row[0] for row in rows[1:]]
    assert response.headers["Content-Disposition"] == 'attachment; filename="non-respondents-survey-1.csv"'


def test_revoking_one_link_from_the_page(admin: FlaskClient, seeded: None) -> None:
    generate(admin, "beta")
    link_id = db.session.scalar(select(Link.id).order_by(Link.id))
    token = csrf_of(admin.get(SHARE).get_data(as_text=True))
    response = admin.post(f"/admin/links/{link_id}/revoke", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{SHARE}#links")
    html = admin.get(SHARE).get_data(as_text=True)
    assert f"Link {link_id} is revoked" in html and '<dd data-step="revoked">1</dd>' in html
    assert db.session.get(Link, link_id).revoked_at is not None


def test_links_can_be_found_by_email(admin: FlaskClient, seeded: None) -> None:
    generate(admin, "alpha")
    html = admin.get(f"{SHARE}?q=TWO@example").get_data(as_text=True)
    assert "two@example.com" in html and "one@example.com" not in html


def test_an_unknown_survey_is_a_404_page(admin: FlaskClient) -> None:
    response = admin.get("/admin/surveys/nope")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "not known to the sidecar" in response.get_data(as_text=True)


def test_share_page_shows_the_last_runs_with_their_errors(admin: FlaskClient, seeded: None) -> None:
    from plugin.models import JobRun

    db.session.add_all([
        JobRun(job="purge", trigger="schedule", holder="h", started_at=NOW, finished_at=NOW, status="succeeded",
               counts={"tokens": 4}),
        JobRun(job="reconcile", trigger="schedule", holder="h", started_at=NOW, finished_at=NOW, status="failed",
               error="reconcile failed for 1 survey(s): survey-1: host answered 503"),
    ])
    db.session.commit()
    html = admin.get(SHARE).get_data(as_text=True)
    assert "No syncs or scheduled runs recorded yet" not in html
    assert "scheduled: purge" in html and "tokens 4" in html
    assert "host answered 503" in html


def test_idle_runs_are_one_row_per_job_and_leave_the_syncs_in_view(admin: FlaskClient, seeded: None) -> None:
    from datetime import timedelta

    from plugin.models import JobRun, SyncRun

    start = NOW - timedelta(hours=2)
    db.session.add(SyncRun(actor="scheduled", started_at=start, finished_at=start, status="succeeded", added=3,
                           changed=1, removed=0, segments=2, surveys=1))
    db.session.add(JobRun(job="purge", trigger="schedule", holder="h", started_at=start + timedelta(minutes=30),
                          finished_at=start, status="succeeded", counts={"tokens": 4, "links": 0}))
    for minute in range(1, 120):  # the retry job, once a minute, with nothing to retry
        at = start + timedelta(minutes=minute)
        db.session.add(JobRun(job="retry", trigger="schedule", holder="h", started_at=at, finished_at=at,
                              status="succeeded", counts={"applied": 0, "failed": 0, "dead": 0}))
    db.session.commit()
    html = admin.get(SHARE).get_data(as_text=True)
    activity = html[html.index('id="activity"'):]
    assert activity.count("scheduled: retry") == 1
    assert "119 runs with nothing to do, since\n        2026-11-28 10:01 UTC" in activity
    assert "3 added, 1 changed, 0 removed" in activity  # the sync two hours ago is still in view
    assert "tokens 4, links 0" in activity


def test_the_share_page_links_a_preview_of_each_state_in_each_language(admin: FlaskClient, seeded: None) -> None:
    html = admin.get(SHARE).get_data(as_text=True)
    for state in ("live", "pending", "expired", "used", "revoked", "invalid"):
        for language in ("en", "de"):
            assert f"/admin/surveys/{SURVEY_ID}/preview/{state}?lang={language}" in html


def test_previews_render_the_respondent_pages_and_change_nothing(admin: FlaskClient, seeded: None) -> None:
    from sqlalchemy import func

    from plugin.models import AuditEvent, Survey

    def snapshot() -> tuple[int, int, str]:
        db.session.expire_all()
        survey = db.session.get(Survey, SURVEY_ID)
        return (db.session.scalar(select(func.count()).select_from(Link)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)), survey.updated_at.isoformat())

    before = snapshot()
    expired = admin.get(f"{SHARE}/preview/expired?lang=de")
    assert expired.status_code == 200 and expired.mimetype == "text/html"
    assert expired.headers["X-Frame-Options"] == "DENY" and expired.headers["Referrer-Policy"] == "no-referrer"
    body = expired.get_data(as_text=True)
    assert "Dieser Link ist abgelaufen" in body and "28. November 2026 um 00:00 UTC" in body
    live = admin.get(f"{SHARE}/preview/live?lang=en").get_data(as_text=True)
    assert "On to the survey" in live and "https://forms.example.com/s/survey-1?plink=SAMPLE-TOKEN" in live
    pending = admin.get(f"{SHARE}/preview/pending").get_data(as_text=True).replace("\u202f", " ")
    assert "It opens on December 5, 2026 at 12:00 AM UTC." in pending
    for state in ("used", "revoked", "invalid"):
        assert admin.get(f"{SHARE}/preview/{state}?lang=de").status_code == 200
        assert admin.head(f"{SHARE}/preview/{state}").status_code == 200
    assert snapshot() == before
    assert admin.get(f"{SHARE}/preview/deleted").status_code == 404
    assert admin.get(f"{SHARE}/preview/used?lang=fr").status_code == 404
    assert admin.get("/admin/surveys/nope/preview/used").status_code == 404


def test_previews_need_a_signed_in_admin(client: FlaskClient, seeded: None) -> None:
    response = client.get(f"{SHARE}/preview/expired")
    assert response.status_code == 302 and "/admin/sign-in" in response.headers["Location"]


def test_the_links_table_shows_names_and_says_a_revoked_link_holds_until_reissued(admin: FlaskClient,
                                                                                 seeded: None) -> None:
    generate(admin, "alpha")
    link_id = db.session.scalar(select(Link.id).order_by(Link.id))
    token = csrf_of(admin.get(SHARE).get_data(as_text=True))
    admin.post(f"/admin/links/{link_id}/revoke", data={"csrf_token": token})
    html = admin.get(SHARE).get_data(as_text=True)
    assert "Ona One" in html and "Tom Two" in html  # point 11: the contacts' names
    assert "left out of downloads until re-issued" in html and "(replaced)" not in html
    assert "left out of later downloads of this survey until you re-issue" in html
    status, body, headers = generate(admin, "alpha")
    assert status == 200 and headers["X-Links-Revoked-Left-Out"] == "1" and len(body.splitlines()) == 3
    response = admin.post(f"/admin/links/{link_id}/reissue", data={"csrf_token": token})
    assert response.status_code == 302
    html = admin.get(SHARE).get_data(as_text=True)
    assert f"re-issued to c1 in place of revoked link {link_id}" in html
    assert "replaced by a newer link" in html


def test_the_form_can_renew_the_kept_links_expiry(admin: FlaskClient, seeded: None) -> None:
    generate(admin, "beta", "2026-12-10")
    status, _, headers = generate(admin, "beta", "2026-12-31")
    assert headers["X-Links-Kept"] == "2" and headers["X-Links-Renewable"] == "2"
    assert headers["X-Links-Summary"] == "0 new, 2 kept their existing link (valid through 2026-12-10)"
    token = csrf_of(admin.get(SHARE).get_data(as_text=True))
    response = admin.post(f"{SHARE}/links.csv", data={"csrf_token": token, "segment": "beta",
                                                      "expiresOn": "2026-12-31", "renew": "true"})
    assert response.headers["X-Links-Renewed"] == "2"
    assert {e.isoformat() for e in db.session.scalars(select(Link.expires_at))} == {"2027-01-01T00:00:00+00:00"}


def test_the_form_offers_no_renewal_that_would_change_nothing(admin: FlaskClient, seeded: None) -> None:
    generate(admin, "beta", "2026-12-10")
    status, _, headers = generate(admin, "beta", "2026-12-10")  # the same date again: the links already end then
    assert status == 200 and headers["X-Links-Kept"] == "2" and headers["X-Links-Renewable"] == "0"
    token = csrf_of(admin.get(SHARE).get_data(as_text=True))
    response = admin.post(f"{SHARE}/links.csv", data={"csrf_token": token, "segment": "beta",
                                                      "expiresOn": "2026-12-10", "renew": "true"})
    assert response.headers["X-Links-Renewed"] == "0" and response.headers["X-Links-Kept"] == "2"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "renewed")) == 0


def test_the_form_leaves_suppressed_contacts_out_unless_ticked(admin: FlaskClient, seeded: None) -> None:
    c2 = db.session.scalar(select(Contact).where(Contact.host_id == "c2"))
    suppressions.add(db.session, suppressions.Entry(c2.id, c2.email, "bounce", None, NOW), NOW, "test")
    db.session.commit()
    assert "Include suppressed contacts" in admin.get(SHARE).get_data(as_text=True)
    status, body, headers = generate(admin, "alpha")
    assert status == 200 and [line.split(",")[0] for line in body.splitlines()[1:]] == ["c3", "c1"]
    assert headers["X-Links-Suppressed-Skipped"] == "1"
    assert headers["X-Links-Summary"].endswith("1 skipped because suppressed (bounce, opt-out or complaint)")
    token = csrf_of(admin.get(SHARE).get_data(as_text=True))
    ticked = admin.post(f"{SHARE}/links.csv", data={"csrf_token": token, "segment": "alpha",
                                                    "includeSuppressed": "true"})
    assert ticked.headers["X-Link-Count"] == "3" and ticked.headers["X-Links-Suppressed-Skipped"] == "0"
    assert ticked.get_data(as_text=True).count("\n") == 4
