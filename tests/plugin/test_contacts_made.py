"""Contacts made: recorded through the API (idempotent), the CLI and a send log CSV; all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.db import db
from plugin.models import Contact, ContactMade, IdempotencyKey, Link, Survey
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from tests.helpers import NOW

API = "/api/personal-links/v1"


@pytest.fixture
def issued(seeded: dict[str, Any]) -> None:
    """Links to survey-1 for c1..c4."""
    issue_links(db.session, db.session.get(Survey, "survey-1"), select(Contact.id), IssueOptions(), NOW, "t")
    db.session.commit()


def made() -> list[tuple[str, str, str, str]]:
    """(contact host id, kind, channel, status) of every contact made, by contact."""
    return [tuple(row) for row in db.session.execute(
        select(Contact.host_id, ContactMade.kind, ContactMade.channel, ContactMade.status)
        .join(Contact, Contact.id == ContactMade.contact_id).order_by(Contact.host_id, ContactMade.id))]


def entry(contact: str = "c1", **changes: Any) -> dict[str, Any]:
    return {"contactId": contact, "surveyId": "survey-1", "kind": "invitation", "channel": "email", **changes}


def test_a_batch_body_records_each_against_the_contacts_link(client: FlaskClient, api_headers: dict[str, str],
                                                              issued: None) -> None:
    body = {"contacts": [entry("c1"), entry("c2", kind="reminder", channel="sms", sentAt="2026-11-27T10:00:00Z"),
                         {"email": "three@example.com", "surveyId": "survey-1", "kind": "reminder",
                          "channel": "other"}]}
    answer = client.post(f"{API}/contacts-made", json=body, headers=api_headers)
    assert answer.status_code == 201 and answer.json == {"data": {"recorded": 3}}
    assert made() == [("c1", "invitation", "email", "sent"), ("c2", "reminder", "sms", "sent"),
                      ("c3", "reminder", "other", "sent")]
    rows = db.session.execute(select(ContactMade.link_id, Link.contact_id, ContactMade.contact_id, ContactMade.sent_at)
                              .join(Link, Link.id == ContactMade.link_id).order_by(ContactMade.id)).all()
    assert all(link_contact == contact for _, link_contact, contact, _ in rows)
    assert [sent_at.isoformat() for *_, sent_at in rows] == [NOW.isoformat(), "2026-11-27T10:00:00+00:00",
                                                             NOW.isoformat()]


@pytest.mark.parametrize("bad, field", [
    (entry(channel="E-Mail"), "contacts[1].channel"),
    (entry(channel="x" * 33), "contacts[1].channel"),
    (entry(kind="nudge"), "contacts[1].kind"),
    (entry(sentAt="yesterday"), "contacts[1].sentAt"),
    (entry(sentAt="2026-12-30T00:00:00Z"), "contacts[1].sentAt"),
    (entry(contact="nobody"), "contacts[1].contactId"),
    (entry(surveyId="survey-x"), "contacts[1].surveyId"),
    ({"surveyId": "survey-1", "kind": "reminder", "channel": "email"}, "contacts[1].contactId"),
    (entry(contact=7), "contacts[1].contactId"),
    ("c1", "contacts[1]"),
])
def test_one_bad_entry_refuses_the_whole_body(client: FlaskClient, api_headers: dict[str, str], issued: None,
                                              bad: Any, field: str) -> None:
    answer = client.post(f"{API}/contacts-made", json={"contacts": [entry("c1"), bad]}, headers=api_headers)
    assert answer.status_code == 422, answer.json
    assert [d["field"] for d in answer.json["error"]["details"]] == [field]
    assert made() == []


def test_a_contact_without_a_link_to_the_survey_is_refused(client: FlaskClient, api_headers: dict[str, str],
                                                           seeded: dict[str, Any]) -> None:
    answer = client.post(f"{API}/contacts-made", json={"contacts": [entry("c1")]}, headers=api_headers)
    assert answer.status_code == 422 and "holds no link" in answer.json["error"]["detail"]


@pytest.mark.parametrize("body", [b"", b"[]", b'{"contacts": []}', b'{"contacts": "c1"}', b"{" * 5000])
def test_malformed_bodies_are_422(client: FlaskClient, api_headers: dict[str, str], issued: None,
                                  body: bytes) -> None:
    answer = client.post(f"{API}/contacts-made", data=body, headers={**api_headers,
                                                                     "Content-Type": "application/json"})
    assert answer.status_code == 422, answer.json


def test_too_many_entries_and_huge_bodies_are_refused(client: FlaskClient, api_headers: dict[str, str],
                                                      issued: None) -> None:
    many = client.post(f"{API}/contacts-made", json={"contacts": [entry()] * 1001}, headers=api_headers)
    assert many.status_code == 422 and many.json["error"]["details"][0]["field"] == "contacts"
    huge = client.post(f"{API}/contacts-made", data=b"x" * (2 * 1024 * 1024), headers=api_headers)
    assert huge.status_code == 413


def test_the_same_key_and_body_replays_the_first_answer(client: FlaskClient, api_headers: dict[str, str],
                                                        issued: None) -> None:
    headers = {**api_headers, "Idempotency-Key": "6f1c-key-1"}
    first = client.post(f"{API}/contacts-made", json={"contacts": [entry("c1")]}, headers=headers)
    again = client.post(f"{API}/contacts-made", json={"contacts": [entry("c1")]}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert made() == [("c1", "invitation", "email", "sent")]


def test_the_same_key_with_another_body_is_refused(client: FlaskClient, api_headers: dict[str, str],
                                                   issued: None) -> None:
    headers = {**api_headers, "Idempotency-Key": "key-2"}
    client.post(f"{API}/contacts-made", json={"contacts": [entry("c1")]}, headers=headers)
    other = client.post(f"{API}/contacts-made", json={"contacts": [entry("c2")]}, headers=headers)
    assert other.status_code == 422 and "another request" in other.json["error"]["detail"]
    assert other.json["error"]["details"][0]["field"] == "Idempotency-Key"
    assert made() == [("c1", "invitation", "email", "sent")]


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "naïve"])
def test_a_malformed_idempotency_key_is_refused(client: FlaskClient, api_headers: dict[str, str], issued: None,
                                                key: str) -> None:
    answer = client.post(f"{API}/contacts-made", json={"contacts": [entry("c1")]},
                         headers={**api_headers, "Idempotency-Key": key.encode().decode("latin-1")})
    assert answer.status_code == 422 and answer.json["error"]["details"][0]["field"] == "Idempotency-Key"
    assert made() == []


def test_a_refused_request_leaves_its_key_unused(client: FlaskClient, api_headers: dict[str, str],
                                                 issued: None) -> None:
    headers = {**api_headers, "Idempotency-Key": "key-3"}
    assert client.post(f"{API}/contacts-made", json={"contacts": [entry("nobody")]},
                       headers=headers).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


SEND_LOG = """Contact ID,Email,Survey,Kind,Channel,Sent At
c1,,survey-1,invitation,email,2026-11-20T09:00:00Z
,two@example.com,survey-1,reminder,email,2026-11-25T09:00:00Z
c3,three@example.com,survey-1,reminder,sms,
"""


def test_a_send_log_is_recorded_over_the_api(client: FlaskClient, api_headers: dict[str, str],
                                             issued: None) -> None:
    answer = client.post(f"{API}/contacts-made.csv", data=SEND_LOG.encode(),
                         headers={**api_headers, "Content-Type": "text/csv"})
    assert answer.status_code == 201 and answer.json["data"]["recorded"] == 3
    assert made() == [("c1", "invitation", "email", "sent"), ("c2", "reminder", "email", "sent"),
                      ("c3", "reminder", "sms", "sent")]


def test_bad_send_log_rows_are_named_by_line_and_nothing_is_recorded(client: FlaskClient,
                                                                     api_headers: dict[str, str],
                                                                     issued: None) -> None:
    text = SEND_LOG + "nobody,,survey-1,reminder,email,\nc2,,survey-1,reminder,fax machine,\n"
    answer = client.post(f"{API}/contacts-made.csv", data=text.encode(), headers=api_headers)
    assert answer.status_code == 422
    assert [d["field"] for d in answer.json["error"]["details"]] == ["line 6, channel", "line 5, contactId"]
    assert "line 5" in answer.json["error"]["detail"] and made() == []


@pytest.mark.parametrize("text, field", [
    ("", "file"), ("name,when\nx,y\n", "header"), ("Contact ID,Survey,Kind,Channel\n", "file"),
    ("Contact ID,contact,Survey\n", "header"),
])
def test_send_logs_without_usable_rows_are_refused(client: FlaskClient, api_headers: dict[str, str], issued: None,
                                                   text: str, field: str) -> None:
    answer = client.post(f"{API}/contacts-made.csv", data=text.encode(), headers=api_headers)
    assert answer.status_code == 422 and answer.json["error"]["details"][0]["field"] == field


def test_a_send_log_that_is_not_utf8_is_refused(client: FlaskClient, api_headers: dict[str, str],
                                                issued: None) -> None:
    answer = client.post(f"{API}/contacts-made.csv", data=b"Contact ID\n\xff\xfe\n", headers=api_headers)
    assert answer.status_code == 422 and "UTF-8" in answer.json["error"]["detail"]


def test_the_cli_records_contacts_and_imports_a_send_log(run: Callable[..., Result], issued: None,
                                                         tmp_path: Path) -> None:
    result = run("contacts-made", "record", "--survey", "survey-1", "--contact", "c1", "--contact", "c2",
                 "--kind", "invitation", "--channel", "email")
    assert result.exit_code == 0 and "recorded 2" in result.output
    log = tmp_path / "log.csv"
    log.write_text("contact_id,sent_at\nc4,2026-11-27T08:00:00Z\n", encoding="utf-8")
    result = run("contacts-made", "import", str(log), "--survey", "survey-1", "--kind", "reminder",
                 "--channel", "sms")
    assert result.exit_code == 0, result.output
    assert made() == [("c1", "invitation", "email", "sent"), ("c2", "invitation", "email", "sent"),
                      ("c4", "reminder", "sms", "sent")]


def test_the_cli_refuses_a_bad_send_log_in_one_line(run: Callable[..., Result], issued: None,
                                                    tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("email,survey,kind,channel\nnobody@example.com,survey-1,reminder,email\n", encoding="utf-8")
    result = run("contacts-made", "import", str(log))
    assert result.exit_code == 1 and "line 2, email: no contact has this e-mail" in result.output
    assert made() == []
