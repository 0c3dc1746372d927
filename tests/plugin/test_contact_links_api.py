"""The host-compatible contact-links API: shapes, errors, no duplicate links, rotation, paging."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.db import db
from plugin.models import AuditEvent, Link
from plugin.state import state
from tests.helpers import PUBLIC_URL

BASE = "/api/v2/management/surveys/survey-1/contact-links"


def get(client: FlaskClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    return client.get(BASE + path, headers=headers, query_string=params)


def test_contact_link_has_the_host_shape(client, seeded, api_headers) -> None:
    response = get(client, "/contacts/c1", api_headers, expirationDays=7)
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["surveyUrl"].startswith(f"{PUBLIC_URL}/c/")
    assert data["expiresAt"] == "2026-12-05T12:00:00.000Z"
    token = data["surveyUrl"].rsplit("/", 1)[1]
    assert state().tokens.verify(token, "survey-1") == data["linkId"]


def test_same_contact_gets_the_same_link_until_rotated(client, seeded, api_headers) -> None:
    first = get(client, "/contacts/c1", api_headers).get_json()["data"]
    again = get(client, "/contacts/c1", api_headers, expirationDays=3).get_json()["data"]
    assert again["surveyUrl"] == first["surveyUrl"]
    rotated = get(client, "/contacts/c1", api_headers, rotate="true").get_json()["data"]
    assert rotated["surveyUrl"] != first["surveyUrl"]
    old = db.session.get(Link, first["linkId"])
    assert old.revoked_at is not None and not old.is_current
    assert db.session.scalar(select(func.count()).select_from(Link)) == 2
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["issued", "revoked", "issued"]


def test_expired_link_is_replaced(client, seeded, api_headers, clock) -> None:
    first = get(client, "/contacts/c2", api_headers, expiresOn="2026-11-29").get_json()["data"]
    clock.advance(days=2)
    second = get(client, "/contacts/c2", api_headers).get_json()["data"]
    assert second["linkId"] != first["linkId"] and second["expiresAt"] is None


def test_answered_contact_is_refused_like_the_host(client, seeded, api_headers) -> None:
    link_id = get(client, "/contacts/c3", api_headers).get_json()["data"]["linkId"]
    db.session.get(Link, link_id).use_count = 1
    db.session.commit()
    response = get(client, "/contacts/c3", api_headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == [{"field": "contactId", "issue": "Already responded"}]


def test_errors_use_the_host_v2_shape(client, seeded, api_headers) -> None:
    missing = client.get("/api/v2/management/surveys/nope/contact-links/contacts/c1", headers=api_headers)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == 404
    assert missing.get_json()["error"]["details"] == [{"field": "survey", "issue": "not found"}]
    contact = get(client, "/contacts/ghost", api_headers)
    assert contact.get_json()["error"]["details"] == [{"field": "contact", "issue": "not found"}]
    bad = get(client, "/contacts/c1", api_headers, expiresOn="2026-11-28")
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"][0]["field"] == "expiresOn"
    assert db.session.scalar(select(func.count()).select_from(Link)) == 0


def test_api_key_is_required(client, seeded) -> None:
    for headers in ({}, {"x-api-key": "plk_nothing_here"}, {"x-api-key": "x" * 5000}):
        response = get(client, "/contacts/c1", headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["message"] == "Unauthorized"


def test_segment_page_shape_and_paging(client, seeded, api_headers) -> None:
    page = get(client, "/segments/alpha", api_headers, limit=2, attributeKeys="email,plan,unknown").get_json()
    issued = page["meta"].pop("issued")
    assert page["meta"] == {"total": 3, "limit": 2, "offset": 0}
    assert (issued["links"], issued["new"], issued["kept"]) == (2, 2, 0)
    assert [item["contactId"] for item in page["data"]] == ["c3", "c2"]  # newest contact first
    assert page["data"][0]["attributes"] == {"email": "three@example.com", "plan": "pro"}
    rest = get(client, "/segments/alpha", api_headers, limit=2, skip=2).get_json()
    assert [item["contactId"] for item in rest["data"]] == ["c1"]
    assert "attributes" not in rest["data"][0]
    assert db.session.scalar(select(func.count()).select_from(Link)) == 3


def test_segment_errors(client, seeded, api_headers) -> None:
    assert get(client, "/segments/alpha", api_headers, limit=251).status_code == 422
    keys = ",".join(f"k{i}" for i in range(21))
    assert get(client, "/segments/alpha", api_headers, attributeKeys=keys).status_code == 422
    assert get(client, "/segments/nope", api_headers).get_json()["error"]["details"][0]["field"] == "segment"


def test_empty_segment_and_no_segments(client, app, api_headers) -> None:
    from plugin.services.host.surveys import save_survey
    from tests.helpers import NOW

    save_survey(db.session, "survey-1", {"publicUrl": "https://forms.example.com/s/survey-1"}, NOW, "plink")
    db.session.commit()
    none = get(client, "/segments/alpha", api_headers)
    assert none.status_code == 404
    assert "create segments first" in none.get_json()["error"]["detail"]


def test_empty_segment_is_a_clear_error(client, seeded, api_headers) -> None:
    from plugin.models import Contact

    for contact in db.session.scalars(select(Contact).where(Contact.host_id.in_(["c1", "c4"]))):
        contact.deleted_at = contact.created_at
    db.session.commit()
    response = get(client, "/segments/beta", api_headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == [{"field": "segmentId", "issue": "no contacts in segment"}]
