"""What a suppression changes: non-respondents (JSON and CSV), the funnel, segment issuance and its report, the
contact listings; and that the "is this contact suppressed" probes use the indexes (issue 11)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select, text

from plugin.db import db
from plugin.models import Contact, Link, Survey
from plugin.services.followup import suppressions
from plugin.services.followup.followup import non_respondents
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from tests.helpers import NOW

API = "/api/personal-links/v1"


@pytest.fixture
def issued(seeded: dict[str, Any]) -> None:
    """Links for c1..c4, expiring in two days."""
    survey = db.session.get(Survey, seeded["survey"])
    issue_links(db.session, survey, select(Contact.id), IssueOptions(expires_at=NOW + timedelta(days=2)), NOW, "t")
    db.session.commit()


def suppress(client: FlaskClient, headers: dict[str, str], **entry: str) -> None:
    answer = client.post(f"{API}/suppressions", json=entry, headers=headers)
    assert answer.status_code == 201, answer.json


def waiting(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[tuple[str, Any]]:
    answer = client.get(f"{API}/surveys/survey-1/non-respondents?total=true{query}", headers=headers)
    assert answer.status_code == 200, answer.json
    assert answer.json["meta"]["total"] == len(answer.json["data"])
    return [(row["contactId"], row["suppressed"]) for row in answer.json["data"]]


def test_suppressed_contacts_leave_the_non_respondents_unless_asked_for(client: FlaskClient,
                                                                        api_headers: dict[str, str],
                                                                        issued: None) -> None:
    suppress(client, api_headers, contactId="c2", reason="bounce")
    assert waiting(client, api_headers) == [("c1", None), ("c3", None), ("c4", None)]
    assert waiting(client, api_headers, "&includeSuppressed=true") == [("c1", None), ("c2", "bounce"), ("c3", None),
                                                                       ("c4", None)]
    assert waiting(client, api_headers, "&segment=alpha") == [("c1", None), ("c3", None)]
    refused = client.get(f"{API}/surveys/survey-1/non-respondents?includeSuppressed=maybe", headers=api_headers)
    assert refused.status_code == 422 and refused.json["error"]["details"][0]["field"] == "includeSuppressed"


def test_the_non_respondents_csv_with_and_without_suppressed_contacts(client: FlaskClient,
                                                                      api_headers: dict[str, str],
                                                                      issued: None) -> None:
    suppress(client, api_headers, email="THREE@example.com", reason="opt-out")

    def rows(query: str = "") -> list[list[str]]:
        answer = client.get(f"{API}/surveys/survey-1/non-respondents.csv{query}", headers=api_headers)
        assert answer.status_code == 200 and answer.mimetype == "text/csv"
        return list(csv.reader(io.StringIO(answer.get_data(as_text=True))))

    plain = rows()
    assert plain[0][-1] == "Last Contacted At" and [row[0] for row in plain[1:]] == ["c1", "c2", "c4"]
    full = rows("?includeSuppressed=1")
    assert full[0][-1] == "Suppressed"
    assert [(row[0], row[-1]) for row in full[1:]] == [("c1", ""), ("c2", ""), ("c3", "opt-out"), ("c4", "")]


def test_an_address_stays_suppressed_under_a_new_host_id(client: FlaskClient, api_headers: dict[str, str],
                                                         issued: None) -> None:
    suppress(client, api_headers, contactId="c2", reason="complaint")
    db.session.execute(insert(Contact).values(host_id="c2-new", email=" Two@Example.COM", attributes={},
                                              source="csv", created_at=NOW, updated_at=NOW))
    db.session.commit()
    survey = db.session.get(Survey, "survey-1")
    issue_links(db.session, survey, select(Contact.id).where(Contact.host_id == "c2-new"), IssueOptions(), NOW, "t")
    db.session.commit()
    assert [host for host, _ in waiting(client, api_headers)] == ["c1", "c3", "c4"]
    listed = client.get(f"{API}/contacts?state=suppressed", headers=api_headers).json
    assert [row["id"] for row in listed["data"]] == ["c2", "c2-new"]
    assert listed["data"][1]["suppression"]["reason"] == "complaint" and listed["data"][1]["state"] == "suppressed"
    active = client.get(f"{API}/contacts?state=active", headers=api_headers).json
    assert [row["id"] for row in active["data"]] == ["c1", "c3", "c4"] and active["data"][0]["suppression"] is None


def test_a_lifted_suppression_brings_the_contact_back(client: FlaskClient, api_headers: dict[str, str],
                                                      issued: None) -> None:
    suppress(client, api_headers, contactId="c4", reason="bounce")
    assert "c4" not in [host for host, _ in waiting(client, api_headers)]
    assert client.delete(f"{API}/suppressions", json={"contactId": "c4"}, headers=api_headers).status_code == 200
    assert "c4" in [host for host, _ in waiting(client, api_headers)]


def test_the_funnel_counts_suppressed_contacts_holding_a_current_link(client: FlaskClient,
                                                                      api_headers: dict[str, str],
                                                                      issued: None) -> None:
    suppress(client, api_headers, contactId="c1", reason="bounce")
    suppress(client, api_headers, email="two@example.com", reason="opt-out")
    suppress(client, api_headers, email="nobody@example.org", reason="opt-out")  # holds no link: not counted
    data = client.get(f"{API}/surveys/survey-1/funnel", headers=api_headers).json["data"]
    assert (data["issued"], data["suppressed"]) == (4, 2)
    schema = client.get("/openapi.json").json["paths"][f"{API}/surveys/{{surveyId}}/funnel"]["get"]
    assert "suppressed" in schema["responses"]["200"]["content"]["application/json"]["schema"]["properties"][
        "data"]["properties"]


def test_segment_downloads_skip_suppressed_contacts_and_say_how_many(client: FlaskClient,
                                                                     api_headers: dict[str, str],
                                                                     seeded: dict[str, Any]) -> None:
    first = client.get(f"{API}/surveys/survey-1/segments/alpha/links.csv", headers=api_headers)
    assert first.headers["X-Link-Count"] == "3" and first.get_data(as_text=True).count("\n") == 4
    suppress(client, api_headers, contactId="c2", reason="bounce")  # c2 holds a link from the first download
    suppress(client, api_headers, contactId="c3", reason="complaint")
    answer = client.get(f"{API}/surveys/survey-1/segments/alpha/links.csv", headers=api_headers)
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert [row[0] for row in rows[1:]] == ["c1"]
    assert answer.headers["X-Links-Suppressed-Skipped"] == "2" and answer.headers["X-Link-Count"] == "1"
    assert "2 skipped because suppressed" in answer.headers["X-Links-Summary"]
    included = client.get(f"{API}/surveys/survey-1/segments/alpha/links.csv?skipSuppressed=false",
                          headers=api_headers)
    assert included.headers["X-Link-Count"] == "3" and included.headers["X-Links-Suppressed-Skipped"] == "0"
    assert included.get_data(as_text=True).count("\n") == 4
    refused = client.get(f"{API}/surveys/survey-1/segments/alpha/links.csv?skipSuppressed=perhaps",
                         headers=api_headers)
    assert refused.status_code == 422 and refused.json["error"]["details"][0]["field"] == "skipSuppressed"


def test_suppressed_contacts_get_no_new_link(client: FlaskClient, api_headers: dict[str, str],
                                             seeded: dict[str, Any]) -> None:
    suppress(client, api_headers, email="one@example.com", reason="opt-out")
    client.get(f"{API}/surveys/survey-1/segments/beta/links.csv", headers=api_headers).get_data()
    holders = db.session.scalars(select(Contact.host_id).join(Link, Link.contact_id == Contact.id)).all()
    assert holders == ["c4"]


def test_the_host_compatible_segment_pages_leave_suppressed_contacts_out(client: FlaskClient,
                                                                        api_headers: dict[str, str],
                                                                        seeded: dict[str, Any]) -> None:
    suppress(client, api_headers, contactId="c3", reason="bounce")
    url = "/api/v2/management/surveys/survey-1/contact-links/segments/alpha"
    answer = client.get(f"{url}?limit=1", headers=api_headers).json
    assert [row["contactId"] for row in answer["data"]] == ["c2"]
    assert answer["meta"]["total"] == 2 and answer["meta"]["issued"]["suppressedSkipped"] == 1
    rest = client.get(f"{url}?limit=1&skip=1", headers=api_headers).json
    assert [row["contactId"] for row in rest["data"]] == ["c1"]
    every = client.get(f"{url}?skipSuppressed=false", headers=api_headers).json
    assert [row["contactId"] for row in every["data"]] == ["c3", "c2", "c1"] and every["meta"]["total"] == 3


def _plan(sql: str) -> str:
    if db.engine.dialect.name == "sqlite":
        return " ".join(str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a few rows: the planner would scan them
    return " ".join(str(row[0]) for row in db.session.execute(text(f"EXPLAIN {sql}")))


def test_the_suppressed_probes_use_the_indexes_by_contact_and_by_address(issued: None) -> None:
    """Leaving suppressed contacts out is two NOT EXISTS, each a lookup in its partial index (on PostgreSQL two
    anti-joins: ``NOT (EXISTS OR EXISTS)`` got a guessed cost that set off JIT compilation on a million links)."""
    query = non_respondents("survey-1", NOW).limit(100)
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = _plan(sql)
    if db.engine.dialect.name == "sqlite":
        assert "ix_suppressions_contact" in plan and "ix_suppressions_email" in plan, plan
    else:  # which partial index serves which join depends on the table's size; neither is a scan, nor a subplan
        assert plan.count("Anti Join") >= 3, plan  # answered, by contact, by address
        # the per-row subplans are the cadence columns of the page's rows (contacts made), never the filter
        assert all("suppressions" not in part for part in plan.split("SubPlan")[1:]), plan
        assert "Seq Scan on suppressions" not in plan and "ix_suppressions_" in plan, plan
    db.session.rollback()


def test_the_test_looks_up_the_address_when_the_query_has_no_contact() -> None:
    for sql in (str(suppressions.suppressed(Link.contact_id)), str(suppressions.not_suppressed(Link.contact_id))):
        assert "suppressions.contact_id = links.contact_id" in sql and "contacts_1.id = links.contact_id" in sql
    assert str(suppressions.not_suppressed(Link.contact_id)).count("NOT (EXISTS") == 2


def test_the_funnel_counts_from_the_suppressions_side(issued: None) -> None:
    """Its cost follows the suppressions, not the links: suppressions read, contacts probed by their address."""
    query = select(Link.id).where(Link.contact_id.in_(suppressions.suppressed_contacts()))
    plan = _plan(str(query.compile(db.engine, compile_kwargs={"literal_binds": True})))
    if db.engine.dialect.name == "sqlite":
        assert "SEARCH contacts USING INDEX ix_contacts_email_address" in plan, plan
        assert "SCAN contacts" not in plan, plan
    else:
        assert "ix_contacts_email_address" in plan and "Seq Scan on contacts" not in plan, plan
    db.session.rollback()


def test_the_cli_download_skips_suppressed_contacts_unless_asked(run: Any, client: FlaskClient,
                                                                  api_headers: dict[str, str],
                                                                  seeded: dict[str, Any]) -> None:
    suppress(client, api_headers, contactId="c1", reason="complaint")
    skipped = run("links", "issue", "--survey", "survey-1", "--segment", "beta")
    assert skipped.exit_code == 0, skipped.output
    assert "Wrote 1 link: 1 new, 1 skipped because suppressed" in skipped.output
    included = run("links", "issue", "--survey", "survey-1", "--segment", "beta", "--include-suppressed")
    assert included.exit_code == 0 and "Wrote 2 links: 1 new, 1 kept" in included.output
