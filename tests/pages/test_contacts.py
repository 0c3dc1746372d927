"""The Contacts and segment members pages through the test client, on both databases (issue 14, point 12)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.db import db
from plugin.models import Contact
from plugin.services.followup import suppressions
from tests.helpers import NOW


def test_the_contacts_page_lists_everyone_with_segments_and_state(admin: FlaskClient, seeded: None) -> None:
    contact = db.session.scalar(select(Contact).where(Contact.host_id == "c2"))
    contact.deleted_at = NOW
    db.session.commit()
    response = admin.get("/admin/contacts")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "4 of 4 contacts" in html and "Ona One" in html and "one@example.com" in html
    assert 'href="/admin/segments/beta/members">Beta</a>' in html
    assert '<span class="badge contact-deleted">deleted</span><br><span class="meta">since 2026-11-28' in html
    found = admin.get("/admin/contacts?q=thea&state=active").get_data(as_text=True)
    assert "1 of 1 contact matching" in found and "Thea Three" in found and "Ona One" not in found


def test_segment_members_page_and_paging(admin: FlaskClient, seeded: None) -> None:
    html = admin.get("/admin/segments/alpha/members?limit=2").get_data(as_text=True)
    assert "Members of “Alpha”" in html and "3 active\n  members" in html
    assert "2 of 3 contacts" in html and "after=c2" in html and "Next page" in html
    rest = admin.get("/admin/segments/alpha/members?limit=2&after=c2").get_data(as_text=True)
    assert "1 of 3 contacts, after c2" in rest and "Thea Three" in rest and "First page" in rest


def test_bad_input_and_unknown_segments_are_pages_with_the_reason(admin: FlaskClient, seeded: None) -> None:
    bad = admin.get("/admin/contacts?state=gone")
    assert bad.status_code == 422 and "state: must be one of active, deleted, suppressed" in bad.get_data(as_text=True)
    missing = admin.get("/admin/segments/nope/members")
    assert missing.status_code == 404 and "segment &#39;nope&#39; not found" in missing.get_data(as_text=True)
    assert admin.get("/admin/contacts?segment=nope").status_code == 404


def test_the_pages_need_a_sign_in(client: FlaskClient, seeded: None) -> None:
    response = client.get("/admin/contacts")
    assert response.status_code == 302 and "/admin/sign-in" in response.headers["Location"]


def test_the_contacts_page_says_who_is_suppressed_and_why(admin: FlaskClient, seeded: None) -> None:
    at = NOW.replace(day=20)
    for contact_id, reason, note in (("c2", "bounce", "mailbox full"), ("c3", "opt-out", None)):
        row = db.session.scalar(select(Contact).where(Contact.host_id == contact_id))
        suppressions.add(db.session, suppressions.Entry(row.id, row.email, reason, note, at), NOW, "test")
    db.session.commit()
    html = admin.get("/admin/contacts").get_data(as_text=True)
    assert '<span class="badge contact-suppressed">suppressed</span>' in html
    assert "bounce since 2026-11-20: mailbox full" in html and "opt-out since 2026-11-20</span>" in html
    only = admin.get("/admin/contacts?state=suppressed").get_data(as_text=True)
    assert "2 of 2 contacts" in only and "Tom Two" in only and "Ona One" not in only
