"""The Contacts and segment members pages through the test client, on both databases (issue 14, point 12)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.db import db
from plugin.models import Contact
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
    assert bad.status_code == 422 and "state: must be one of active, deleted" in bad.get_data(as_text=True)
    missing = admin.get("/admin/segments/nope/members")
    assert missing.status_code == 404 and "segment &#39;nope&#39; not found" in missing.get_data(as_text=True)
    assert admin.get("/admin/contacts?segment=nope").status_code == 404


def test_the_pages_need_a_sign_in(client: FlaskClient, seeded: None) -> None:
    response = client.get("/admin/contacts")
    assert response.status_code == 302 and "/admin/sign-in" in response.headers["Location"]
