"""Suppressions through the API, the CLI and a CSV import: recorded per contact and per address, lifted with an
audit row, and every malformed entry refused with a precise 4xx (issue 11)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.db import db
from plugin.models import AuditEvent, OutboxEvent, Suppression
from plugin.services.events import subscriptions
from tests.helpers import NOW

API = "/api/personal-links/v1/suppressions"


def post(client: FlaskClient, headers: dict[str, str], body: Any) -> Any:
    return client.post(API, json=body, headers=headers)


def stored() -> list[tuple[int | None, str | None, str, bool]]:
    db.session.rollback()
    return [(row.contact_id, row.email, row.reason, row.removed_at is None)
            for row in db.session.scalars(select(Suppression).order_by(Suppression.id))]


def test_a_contact_is_suppressed_by_its_row_and_its_address(client: FlaskClient, api_headers: dict[str, str],
                                                            seeded: dict[str, Any]) -> None:
    answer = post(client, api_headers, {"contactId": "c2", "reason": "bounce", "note": "mailbox full",
                                        "at": "2026-11-27T08:00:00Z"})
    assert answer.status_code == 201, answer.json
    data = answer.json["data"][0]
    assert (data["contactId"], data["email"], data["reason"], data["note"]) == ("c2", "two@example.com", "bounce",
                                                                               "mailbox full")
    assert data["at"] == "2026-11-27T08:00:00.000Z" and data["removedAt"] is None
    assert answer.json["meta"] == {"added": 1, "already": 0}
    again = post(client, api_headers, {"email": " TWO@Example.com ", "reason": "complaint"})
    assert again.status_code == 200 and again.json["meta"] == {"added": 0, "already": 1}
    assert again.json["data"][0]["reason"] == "bounce"  # the one in force stays as it was
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "suppressed")).all()
    assert len(audit) == 1 and audit[0].detail["reason"] == "bounce" and audit[0].contact_id is not None


def test_an_address_alone_and_a_batch(client: FlaskClient, api_headers: dict[str, str],
                                      seeded: dict[str, Any]) -> None:
    answer = post(client, api_headers, {"suppressions": [{"email": "Gone@Example.org", "reason": "opt-out"},
                                                         {"contactId": "c3", "reason": "complaint"}]})
    assert answer.status_code == 201 and answer.json["meta"]["added"] == 2
    assert [(row[1], row[2]) for row in stored()] == [("gone@example.org", "opt-out"),
                                                     ("three@example.com", "complaint")]
    listed = client.get(f"{API}?reason=complaint", headers=api_headers).json
    assert [row["contactId"] for row in listed["data"]] == ["c3"] and listed["meta"]["nextCursor"] is None
    by_contact = client.get(f"{API}?contactId=c3", headers=api_headers).json["data"]
    assert [row["email"] for row in by_contact] == ["three@example.com"]
    first = client.get(f"{API}?limit=1", headers=api_headers).json
    rest = client.get(f"{API}?after={first['meta']['nextCursor']}", headers=api_headers).json
    assert [row["email"] for row in first["data"] + rest["data"]] == ["gone@example.org", "three@example.com"]


@pytest.mark.parametrize(("body", "field", "issue"), [
    ({"contactId": "c1", "reason": "spam"}, "reason", "must be one of bounce, complaint, opt-out"),
    ({"contactId": "c1"}, "reason", "required: one of bounce, complaint, opt-out"),
    ({"email": "not-an-address", "reason": "bounce"}, "email", "'not-an-address' is not an e-mail address"),
    ({"email": "a b@x.org", "reason": "bounce"}, "email", "'a b@x.org' is not an e-mail address"),
    ({"email": "a@" + "x" * 320 + ".org", "reason": "bounce"}, "email", "at most 320 characters"),
    ({"email": 7, "reason": "bounce"}, "email", "must be a string"),
    ({"reason": "bounce"}, "contactId", "give contactId or email (or both)"),
    ({"contactId": "c1", "reason": "bounce", "at": "yesterday"}, "at",
     "'yesterday' is not an ISO-8601 date or date-time"),
    ({"contactId": "c1", "reason": "bounce", "at": "1999-12-31"}, "at", "must be between the years 2000 and 9000"),
    ({"contactId": "c1", "reason": "bounce", "at": "2026-12-01"}, "at",
     "is in the future: give when the bounce, opt-out or complaint happened"),
    ({"contactId": "c1", "reason": "bounce", "note": "x" * 501}, "note", "at most 500 characters"),
    ({"suppressions": []}, "suppressions", "must be a non-empty list"),
    ({"suppressions": [{"contactId": "c1", "reason": "bounce"}] * 1001}, "suppressions", "at most 1000 in one request"),
    ({"suppressions": [{"contactId": "c1", "reason": "bounce"}, "c2"]}, "suppressions[1]", "must be an object"),
    ({"suppressions": [{"contactId": "c1", "reason": "bounce"}, {"email": "x", "reason": "bounce"}]},
     "suppressions[1].email", "'x' is not an e-mail address"),
])
def test_malformed_entries_are_refused_naming_the_field_and_nothing_is_stored(
        client: FlaskClient, api_headers: dict[str, str], seeded: dict[str, Any], body: Any, field: str,
        issue: str) -> None:
    answer = post(client, api_headers, body)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["details"] == [{"field": field, "issue": issue}]
    assert stored() == []


def test_unknown_contacts_and_bodies_that_are_not_objects(client: FlaskClient, api_headers: dict[str, str],
                                                          seeded: dict[str, Any]) -> None:
    missing = post(client, api_headers, {"suppressions": [{"contactId": "c1", "reason": "bounce"},
                                                          {"contactId": "nope", "reason": "bounce"}]})
    assert missing.status_code == 404
    assert missing.json["error"]["details"] == [{"field": "suppressions[1].contactId", "issue": "not found"}]
    for raw in ("[1, 2]", "{", "[" * 10000):
        refused = client.post(API, data=raw, content_type="application/json", headers=api_headers)
        assert refused.status_code == 422 and refused.json["error"]["details"][0]["field"] == "body"
    assert client.get(f"{API}?reason=spam", headers=api_headers).status_code == 422
    assert client.get(f"{API}?email=nope", headers=api_headers).status_code == 422
    assert client.get(f"{API}?contactId=nope", headers=api_headers).status_code == 404
    assert client.get(f"{API}?after=x", headers=api_headers).status_code == 422
    assert stored() == []


def test_lifting_keeps_the_row_with_who_and_when_and_an_audit_row(client: FlaskClient, api_headers: dict[str, str],
                                                                 seeded: dict[str, Any], clock: Any) -> None:
    made = post(client, api_headers, {"contactId": "c1", "reason": "opt-out"}).json["data"][0]
    clock.advance(hours=1)
    lifted = client.delete(f"{API}/{made['id']}", headers=api_headers)
    assert lifted.status_code == 200
    assert lifted.json["data"]["removedAt"] == "2026-11-28T13:00:00.000Z"
    assert lifted.json["data"]["removedBy"].startswith("api-key:")
    assert client.delete(f"{API}/{made['id']}", headers=api_headers).json["data"]["removedAt"] == \
        "2026-11-28T13:00:00.000Z"  # twice: the first lifting holds
    assert client.get(API, headers=api_headers).json["data"] == []
    assert [row["id"] for row in client.get(f"{API}?removed=true", headers=api_headers).json["data"]] == [made["id"]]
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["suppressed", "unsuppressed"]
    assert client.delete(f"{API}/999", headers=api_headers).status_code == 404
    again = post(client, api_headers, {"contactId": "c1", "reason": "bounce"})  # suppressible again
    assert again.status_code == 201


def test_lifting_by_contact_or_address_in_a_batch(client: FlaskClient, api_headers: dict[str, str],
                                                 seeded: dict[str, Any]) -> None:
    post(client, api_headers, {"suppressions": [{"contactId": "c1", "reason": "bounce"},
                                                {"email": "ONE@example.com", "reason": "complaint"},
                                                {"email": "x@example.org", "reason": "opt-out"}]})
    answer = client.delete(API, json={"suppressions": [{"contactId": "c1"}, {"email": "X@example.org"}]},
                           headers=api_headers)
    assert answer.status_code == 200 and answer.json["meta"] == {"removed": 2}
    assert [in_force for *_, in_force in stored()] == [False, False]
    refused = client.delete(API, json={"email": "nope"}, headers=api_headers)
    assert refused.status_code == 422 and refused.json["error"]["details"][0]["field"] == "email"
    assert client.delete(API, json={}, headers=api_headers).status_code == 422
    assert client.delete(API, json={"contactId": "nope"}, headers=api_headers).status_code == 404


CSV_GOOD = ("Contact ID,E-mail,Reason,At,Note,Campaign\r\n"
            "c1,,bounce,2026-11-20,hard bounce,x\r\n"
            ",Someone@Example.org,opt-out,,,y\r\n"
            "c1,,complaint,,,z\r\n"
            "\r\n")


def test_a_csv_import_over_the_api(client: FlaskClient, api_headers: dict[str, str],
                                   seeded: dict[str, Any]) -> None:
    answer = client.post(f"{API}/import", data=CSV_GOOD.encode(), content_type="text/csv", headers=api_headers)
    assert answer.status_code == 200, answer.json
    assert answer.json["data"] == {"added": 2, "already": 1}
    assert [(row[1], row[2]) for row in stored()] == [("one@example.com", "bounce"), ("someone@example.org", "opt-out")]


def test_bad_rows_are_reported_by_line_and_nothing_is_stored(client: FlaskClient, api_headers: dict[str, str],
                                                             seeded: dict[str, Any]) -> None:
    body = ("email,reason,at\n"
            "a@example.org,bounce,\n"
            "b@example.org,spam,\n"
            "not-an-address,bounce,\n"
            "c@example.org,bounce,31.12.2025\n"
            "\"d@example.org\nstill the cell\",bounce,\n")
    answer = client.post(f"{API}/import", data=body.encode(), content_type="text/csv", headers=api_headers)
    assert answer.status_code == 422
    details = answer.json["error"]["details"]
    assert [detail["field"] for detail in details] == ["line 3", "line 4", "line 5", "line 7"]
    assert details[0]["issue"] == "reason: must be one of bounce, complaint, opt-out"
    assert details[2]["issue"] == "at: '31.12.2025' is not an ISO-8601 date or date-time"
    assert answer.json["error"]["detail"].startswith("file: 4 bad rows, nothing stored: line 3: reason: must be")
    assert stored() == []


@pytest.mark.parametrize(("body", "issue"), [
    (b"", "empty: it needs a header row with reason and contactId or email"),
    (b"email,note\na@example.org,x\n", "line 1: no 'reason' column; the header is ['email', 'note']"),
    (b"reason,note\nbounce,x\n", "line 1: no 'contactId' or 'email' column"),
    (b"email,e-mail,reason\n", "line 1: two columns mean 'email'"),
    (b"email,reason\n\xff@example.org,bounce\n", "line 2: not UTF-8 text (save it as CSV UTF-8)"),
    (b"email,reason\na@example.org,bou\x00nce\n", "line 2: holds a NUL byte: not a CSV text file"),
    (b'email,reason\n"a@example.org,bounce\n', "line 2: malformed CSV: unexpected end of data"),
])
def test_malformed_files_are_refused_naming_the_line(client: FlaskClient, api_headers: dict[str, str],
                                                     seeded: dict[str, Any], body: bytes, issue: str) -> None:
    answer = client.post(f"{API}/import", data=body, content_type="text/csv", headers=api_headers)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["details"] == [{"field": "file", "issue": issue}]


def test_an_oversized_or_mistyped_upload_is_refused(client: FlaskClient, api_headers: dict[str, str],
                                                    seeded: dict[str, Any]) -> None:
    big = b"email,reason\n" + b"someone@example.org,bounce\n" * 50_000  # over the 1 MiB request limit
    answer = client.post(f"{API}/import", data=big, content_type="text/csv", headers=api_headers)
    assert answer.status_code == 413 and answer.json["error"]["code"] == 413
    typed = client.post(f"{API}/import", json={"email": "a@example.org"}, headers=api_headers)
    assert typed.status_code == 422 and typed.json["error"]["details"][0]["field"] == "Content-Type"
    assert stored() == []


def test_the_api_needs_a_key_and_is_documented(client: FlaskClient) -> None:
    assert client.get(API).status_code == 401
    assert client.post(API, json={}).status_code == 401
    paths = client.get("/openapi.json").json["paths"]
    assert set(paths[API]) == {"get", "post", "delete"}
    assert "delete" in paths[API + "/{suppressionId}"] and "post" in paths[API + "/import"]


def test_the_cli_adds_lists_lifts_and_imports(run: Callable[..., Result], seeded: dict[str, Any],
                                              tmp_path: Path) -> None:
    added = run("suppressions", "add", "--contact", "c2", "--reason", "bounce", "--note", "full", "--at",
                "2026-11-27")
    assert added.exit_code == 0, added.output
    assert added.output.startswith("suppressed: 1\tc2\ttwo@example.com\tbounce\t2026-11-27 00:00\tin force\tfull")
    assert run("suppressions", "add", "--email", "Two@example.com", "--reason", "opt-out").output.startswith(
        "already suppressed: 1\t")
    listed = run("suppressions", "list")
    assert listed.exit_code == 0 and "1\tc2\ttwo@example.com\tbounce" in listed.output
    file = tmp_path / "bounces.csv"
    file.write_text("email,reason\nx@example.org,complaint\ny@example.org,complaint\n", encoding="utf-8")
    imported = run("suppressions", "import", str(file))
    assert imported.exit_code == 0 and "suppressions: 2 added, 0 already in force" in imported.output
    lifted = run("suppressions", "remove", "--contact", "c2")
    assert lifted.exit_code == 0 and "lifted 1 suppression" in lifted.output
    removed = run("suppressions", "list", "--removed", "--reason", "bounce").output
    assert re.search(r"\tremoved \d{4}-\d\d-\d\d by cli\tfull", removed)  # the CLI's clock is the real one
    assert [in_force for *_, in_force in stored()] == [False, True, True]


def test_the_cli_refuses_bad_input_in_one_line(run: Callable[..., Result], seeded: dict[str, Any], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("suppressions", "add", "--contact", "c1", "--reason", "spam").output == \
        "Error: reason: must be one of bounce, complaint, opt-out\n"
    assert "Error: contactId: contact 'nope' not found" in run("suppressions", "add", "--contact", "nope",
                                                                 "--reason", "bounce").output
    assert "give a suppression id, or --contact or --email" in run("suppressions", "remove").output
    assert "suppression 9 not found" in run("suppressions", "remove", "9").output
    bad = tmp_path / "bad.csv"
    bad.write_text("email,reason\na@example.org,bounce\nnope,bounce\nb@example.org,\n", encoding="utf-8")
    result = run("suppressions", "import", str(bad))
    assert result.exit_code == 1
    assert f"{bad}: line 3: email: 'nope' is not an e-mail address" in result.output
    assert f"{bad}: line 4: reason: required: one of bounce, complaint, opt-out" in result.output
    assert "Error: file: 2 bad rows, nothing stored: line 3:" in result.output
    assert "cannot read" in run("suppressions", "import", str(tmp_path / "missing.csv")).output
    monkeypatch.setattr("plugin.cli.suppressions.MAX_FILE_BYTES", 1024 * 1024)
    big = tmp_path / "big.csv"
    big.write_bytes(b"email,reason\n" + b"someone@example.org,bounce\n" * 40_000)
    assert run("suppressions", "import", str(big)).output == "Error: file: larger than 1 MiB\n"
    assert stored() == []


def test_a_new_suppression_is_a_contact_suppressed_event_and_a_covered_one_is_not(
        client: FlaskClient, api_headers: dict[str, str], seeded: dict[str, Any]) -> None:
    subscriptions.create_subscription(db.session, {"url": "https://hooks.example.com/x",
                                                   "events": ["contact.suppressed"]}, NOW)
    db.session.commit()
    assert post(client, api_headers, {"contactId": "c2", "reason": "opt-out"}).status_code == 201
    assert post(client, api_headers, {"email": "two@example.com", "reason": "bounce"}).status_code == 200
    db.session.rollback()
    (event,) = db.session.scalars(select(OutboxEvent)).all()
    assert (event.kind, event.contact_host_id, event.survey_id, event.link_id) == ("contact.suppressed", "c2",
                                                                                 None, None)
    assert event.data["reason"] == "opt-out" and event.data["email"] == "two@example.com"
