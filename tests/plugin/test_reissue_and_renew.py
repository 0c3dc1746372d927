"""Issue 14, points 8 and 9: a download says which links were kept and until when (and can renew them), and a
revoked contact stays left out until an admin re-issues on purpose; on both databases."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.db import db
from plugin.models import AuditEvent, Contact, Link
from plugin.services.admin.purge import purge
from tests.helpers import NOW

V1 = "/api/personal-links/v1"
CSV = f"{V1}/surveys/survey-1/segments/alpha/links.csv"
CONTACT = "/api/v2/management/surveys/survey-1/contact-links/contacts"


def download(client: FlaskClient, headers: dict[str, str], **params: Any) -> tuple[dict[str, str], list[list[str]]]:
    response = client.get(CSV, headers=headers, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.headers), list(csv.reader(io.StringIO(response.get_data(as_text=True))))[1:]


def link_of(host_id: str) -> Link:
    return db.session.scalar(select(Link).join(Contact, Contact.id == Link.contact_id)
                             .where(Contact.host_id == host_id, Link.is_current.is_(True)))


def test_a_second_download_says_who_kept_their_link_and_until_when(client, seeded, api_headers) -> None:
    client.get(f"{CONTACT}/c1", headers=api_headers, query_string={"expiresOn": "2026-12-10"})
    headers, rows = download(client, api_headers, expiresOn="2026-12-31")
    assert len(rows) == 3
    assert (headers["X-Link-Count"], headers["X-Links-New"], headers["X-Links-Kept"]) == ("3", "2", "1")
    assert headers["X-Links-Kept-Expires-First"] == headers["X-Links-Kept-Expires-Last"] == "2026-12-11T00:00:00.000Z"
    assert headers["X-Links-Renewable"] == "1" and headers["X-Links-Revoked-Left-Out"] == "0"
    assert headers["X-Links-Summary"] == "2 new, 1 kept its existing link (valid through 2026-12-10)"
    assert link_of("c1").expires_at.isoformat() == "2026-12-11T00:00:00+00:00"  # kept means untouched


def test_renew_gives_existing_unanswered_links_the_new_expiry_and_keeps_their_urls(client, seeded,
                                                                                  api_headers) -> None:
    _, first = download(client, api_headers, expiresOn="2026-12-10")
    answered = link_of("c2")
    answered.use_count = 1
    db.session.commit()
    headers, again = download(client, api_headers, expiresOn="2027-01-31", renew="true")
    assert sorted(row[5] for row in again) == sorted(row[5] for row in first)  # the same URLs
    assert (headers["X-Links-New"], headers["X-Links-Renewed"], headers["X-Links-Kept"]) == ("0", "2", "1")
    assert headers["X-Links-Summary"] == ("0 new, 2 renewed to the new expiry (valid through 2027-01-31), same URL, "
                                          "1 kept its existing link (valid through 2026-12-10)")
    assert link_of("c1").expires_at.isoformat() == link_of("c3").expires_at.isoformat() == "2027-02-01T00:00:00+00:00"
    assert link_of("c2").expires_at.isoformat() == "2026-12-11T00:00:00+00:00"  # answered: left as it was
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "renewed")).all() == ["renewed"] * 2


def renewals() -> int:
    return int(db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "renewed"))
               or 0)


def test_renew_counts_and_audits_only_links_whose_expiry_changes(client, seeded, api_headers) -> None:
    download(client, api_headers, expiresOn="2026-12-10")
    client.get(f"{CONTACT}/c1", headers=api_headers, query_string={"expiresOn": "2026-12-31", "renew": "true"})
    assert renewals() == 1
    headers, _ = download(client, api_headers, expiresOn="2026-12-31")
    assert headers["X-Links-Renewable"] == "2"  # c1 already expires then: renewing it would change nothing
    headers, _ = download(client, api_headers, expiresOn="2026-12-31", renew="true")
    assert (headers["X-Links-Renewed"], headers["X-Links-Kept"], headers["X-Link-Count"]) == ("2", "1", "3")
    assert headers["X-Links-Summary"] == ("0 new, 2 renewed to the new expiry (valid through 2026-12-31), same URL, "
                                          "1 kept its existing link (valid through 2026-12-31)")
    assert renewals() == 3
    headers, rows = download(client, api_headers, expiresOn="2026-12-31", renew="true")
    assert (headers["X-Links-Renewed"], headers["X-Links-Kept"], headers["X-Links-Renewable"]) == ("0", "3", "0")
    assert headers["X-Links-Summary"] == "0 new, 3 kept their existing link (valid through 2026-12-31)"
    assert len(rows) == 3 and renewals() == 3


def test_renewing_links_without_expiry_to_no_expiry_changes_nothing(client, seeded, api_headers) -> None:
    download(client, api_headers)
    headers, _ = download(client, api_headers)
    assert headers["X-Links-Renewable"] == "0"
    headers, _ = download(client, api_headers, renew="true")
    assert (headers["X-Links-Renewed"], headers["X-Links-Kept"], headers["X-Links-Kept-Without-Expiry"]) == (
        "0", "3", "3")
    assert renewals() == 0
    body = client.get(f"{CONTACT}/c1", headers=api_headers, query_string={"renew": "true"}).get_json()
    assert body["meta"]["issued"]["renewed"] == 0 and renewals() == 0


def test_the_json_segment_endpoint_reports_in_meta(client, seeded, api_headers) -> None:
    client.get(f"{CONTACT}/c3", headers=api_headers)
    body = client.get("/api/v2/management/surveys/survey-1/contact-links/segments/alpha", headers=api_headers,
                      query_string={"expirationDays": 3}).get_json()
    issued = body["meta"]["issued"]
    assert (issued["links"], issued["new"], issued["kept"], issued["keptWithoutExpiry"]) == (3, 2, 1, 1)
    assert issued["expiresAt"] == "2026-12-01T12:00:00.000Z"
    assert issued["summary"] == "2 new, 1 kept its existing link (no expiry)"


def test_a_revoked_contact_is_left_out_of_later_downloads_until_reissued(client, seeded, api_headers) -> None:
    _, rows = download(client, api_headers)
    revoked = link_of("c2")
    assert client.post(f"{V1}/links/{revoked.id}/revoke", headers=api_headers).status_code == 200
    headers, again = download(client, api_headers)
    assert sorted(row[0] for row in again) == ["c1", "c3"]
    assert headers["X-Links-Revoked-Left-Out"] == "1" and headers["X-Link-Count"] == "2"
    assert "1 left out because its link was revoked (re-issue to include)" in headers["X-Links-Summary"]
    headers, back = download(client, api_headers, reissue="true")
    assert sorted(row[0] for row in back) == ["c1", "c2", "c3"]
    assert (headers["X-Links-New"], headers["X-Links-Reissued"], headers["X-Links-Revoked-Left-Out"]) == ("1", "1", "0")
    new_url = next(row[5] for row in back if row[0] == "c2")
    assert new_url not in [row[5] for row in rows]  # a revoked URL never opens again: a new one


def test_the_single_contact_endpoint_refuses_a_revoked_link_until_reissue_is_asked(client, seeded,
                                                                                    api_headers) -> None:
    first = client.get(f"{CONTACT}/c1", headers=api_headers).get_json()["data"]
    client.post(f"{V1}/links/{first['linkId']}/revoke", headers=api_headers)
    refused = client.get(f"{CONTACT}/c1", headers=api_headers)
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["details"] == [{"field": "contactId", "issue": "Link revoked"}]
    assert "was revoked on 2026-11-28 12:00 UTC" in error["detail"] and "reissue=true" in error["detail"]
    body = client.get(f"{CONTACT}/c1", headers=api_headers, query_string={"reissue": "true"}).get_json()
    assert body["data"]["linkId"] != first["linkId"] and body["data"]["state"] == "live"
    assert body["meta"]["issued"]["summary"] == "1 new (1 re-issued after a revocation)"


def test_the_single_contact_endpoint_says_when_the_link_was_kept(client, seeded, api_headers) -> None:
    client.get(f"{CONTACT}/c1", headers=api_headers, query_string={"expiresOn": "2026-12-10"})
    kept = client.get(f"{CONTACT}/c1", headers=api_headers, query_string={"expiresOn": "2026-12-31"}).get_json()
    assert kept["data"]["expiresAt"] == "2026-12-11T00:00:00.000Z"
    assert kept["meta"]["issued"]["summary"] == "0 new, 1 kept its existing link (valid through 2026-12-10)"
    renewed = client.get(f"{CONTACT}/c1", headers=api_headers,
                         query_string={"expiresOn": "2026-12-31", "renew": "1"}).get_json()
    assert renewed["data"]["expiresAt"] == "2027-01-01T00:00:00.000Z"
    assert renewed["data"]["linkId"] == kept["data"]["linkId"]


def test_the_reissue_action_gives_a_new_link_with_the_old_expiry(client, seeded, api_headers) -> None:
    first = client.get(f"{CONTACT}/c1", headers=api_headers, query_string={"expiresOn": "2026-12-24"}).get_json()
    link_id = first["data"]["linkId"]
    live = client.post(f"{V1}/links/{link_id}/reissue", headers=api_headers)
    assert live.status_code == 400 and "is not revoked" in live.get_json()["error"]["detail"]
    client.post(f"{V1}/links/{link_id}/revoke", headers=api_headers)
    answer = client.post(f"{V1}/links/{link_id}/reissue", headers=api_headers)
    assert answer.status_code == 200
    data = answer.get_json()["data"]
    assert data["replaces"] == link_id and data["contactId"] == "c1"
    assert data["expiresAt"] == "2026-12-25T00:00:00.000Z" and data["surveyUrl"] != first["data"]["surveyUrl"]
    twice = client.post(f"{V1}/links/{link_id}/reissue", headers=api_headers)
    assert twice.status_code == 400 and "already replaced" in twice.get_json()["error"]["detail"]
    assert client.post(f"{V1}/links/999/reissue", headers=api_headers).status_code == 404


def test_the_token_purge_keeps_a_revocation_holding(app, client, seeded, api_headers, clock) -> None:
    link_id = client.get(f"{CONTACT}/c1", headers=api_headers,
                         query_string={"expiresOn": "2026-11-29"}).get_json()["data"]["linkId"]
    client.post(f"{V1}/links/{link_id}/revoke", headers=api_headers)
    clock.advance(days=400)
    purge(db.session, clock.now(), token_days=30, link_days=365, actor="test")
    held = db.session.get(Link, link_id)
    assert held is not None and held.is_current and held.purged_at is not None
    assert client.get(f"{CONTACT}/c1", headers=api_headers).status_code == 400


def test_reporting_renewing_and_reissuing_stay_set_based(client, seeded, api_headers) -> None:
    """The statements a segment download runs do not grow with the segment (counted, for 3 and for 203)."""
    from sqlalchemy import event

    from plugin.models import Segment, SegmentMember
    from plugin.services.links import issuing

    def statements(segment_id: str, **args: str) -> int:
        seen: list[str] = []
        listener = lambda *a: seen.append(a[2])  # noqa: E731  (before_cursor_execute's statement)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            issuing.issue_segment(db.session, "survey-1", segment_id, args, NOW, "t", lambda: None)
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    db.session.add(Segment(id="big", title="Big", created_at=NOW, updated_at=NOW))
    db.session.add_all(Contact(host_id=f"b{i}", attributes={}, created_at=NOW, updated_at=NOW) for i in range(200))
    db.session.flush()
    ids = db.session.scalars(select(Contact.id)).all()
    db.session.add_all(SegmentMember(segment_id="big", contact_id=contact_id) for contact_id in ids)
    db.session.commit()
    statements("alpha")
    statements("big")
    for host_id in ("c2", "b5"):  # one revoked link in each segment, for the re-issue path
        client.post(f"{V1}/links/{link_of(host_id).id}/revoke", headers=api_headers)
    small = statements("alpha", expiresOn="2026-12-31", renew="true", reissue="true")
    large = statements("big", expiresOn="2026-12-31", renew="true", reissue="true")
    assert small == large
    assert db.session.scalar(select(func.count()).select_from(Link).where(Link.expires_at.is_not(None))) == 204
