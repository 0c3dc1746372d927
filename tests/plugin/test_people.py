"""Issue 14, point 12: read-only, paged, searchable listings of contacts and of a segment's members, in the API
and the command line, on both databases."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.db import db
from plugin.models import Contact
from tests.helpers import NOW

V1 = "/api/personal-links/v1"


def get(client: FlaskClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    return client.get(V1 + path, headers=headers, query_string=params)


def delete_contact(host_id: str) -> None:
    contact = db.session.scalar(select(Contact).where(Contact.host_id == host_id))
    contact.deleted_at = NOW
    db.session.commit()


def test_contacts_are_listed_with_their_segments_and_state(client, seeded, api_headers) -> None:
    delete_contact("c2")
    body = get(client, "/contacts", api_headers).get_json()
    assert [row["id"] for row in body["data"]] == ["c1", "c2", "c3", "c4"]
    first = body["data"][0]
    assert (first["firstName"], first["lastName"], first["email"], first["userId"]) == (
        "Ona", "One", "one@example.com", "u1")
    assert first["segments"] == [{"id": "alpha", "title": "Alpha"}, {"id": "beta", "title": "Beta"}]
    assert first["state"] == "active" and first["deletedAt"] is None and first["attributes"] == {"plan": "pro"}
    assert body["data"][1]["state"] == "deleted" and body["data"][1]["deletedAt"] == "2026-11-28T12:00:00.000Z"
    assert body["meta"] == {"total": 4, "limit": 50, "offset": 0, "after": None, "next": None}
    deleted = get(client, "/contacts", api_headers, state="deleted").get_json()
    assert [row["id"] for row in deleted["data"]] == ["c2"]


def test_search_by_id_name_or_email_ignores_case_and_takes_wildcards_literally(client, seeded, api_headers) -> None:
    def ids(q: str) -> list[str]:
        return [row["id"] for row in get(client, "/contacts", api_headers, q=q).get_json()["data"]]

    assert ids("C3") == ["c3"]
    assert ids("u2") == ["c2"]  # the custom id
    assert ids("tom two") == ["c2"] and ids("thea") == ["c3"]  # a name, or first and last together
    assert ids("ONE@example") == ["c1"]
    assert ids("%") == [] and ids("_") == []
    assert ids("hyperlink") == ["c4"]


def test_keyset_and_skip_paging(client, seeded, api_headers) -> None:
    first = get(client, "/contacts", api_headers, limit=2).get_json()
    assert [row["id"] for row in first["data"]] == ["c1", "c2"] and first["meta"]["next"] == "c2"
    second = get(client, "/contacts", api_headers, limit=2, after=first["meta"]["next"]).get_json()
    assert [row["id"] for row in second["data"]] == ["c3", "c4"] and second["meta"]["next"] is None
    assert second["meta"]["total"] == 4
    skipped = get(client, "/contacts", api_headers, limit=2, skip=3).get_json()
    assert [row["id"] for row in skipped["data"]] == ["c4"]


def test_segment_members_list_the_members_only(client, seeded, api_headers) -> None:
    delete_contact("c4")
    body = get(client, "/segments/beta/members", api_headers).get_json()
    assert [(row["id"], row["state"]) for row in body["data"]] == [("c1", "active"), ("c4", "deleted")]
    assert body["meta"]["segment"] == {"id": "beta", "title": "Beta", "kind": "static", "memberCount": 1}
    active = get(client, "/segments/beta/members", api_headers, state="active").get_json()
    assert [row["id"] for row in active["data"]] == ["c1"] and active["meta"]["total"] == 1
    by_filter = get(client, "/contacts", api_headers, segment="alpha", q="t").get_json()
    assert [row["id"] for row in by_filter["data"]] == ["c2", "c3"]  # Tom Two, Thea Three (and not c1)


def test_bad_listing_input_is_a_precise_422_or_404(client, seeded, api_headers) -> None:
    cases = [({"state": "gone"}, "state"), ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"),
             ({"skip": "-1"}, "skip"), ({"q": "x" * 201}, "q"), ({"after": "c1", "skip": "1"}, "after"),
             ({"after": "x" * 256}, "after")]
    for params, field in cases:
        response = get(client, "/contacts", api_headers, **params)
        assert response.status_code == 422, params
        assert response.get_json()["error"]["details"][0]["field"] == field
    missing = get(client, "/segments/nope/members", api_headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["details"][0]["field"] == "segment"
    assert get(client, "/contacts", api_headers, segment="nope").status_code == 404
    assert get(client, "/contacts", {}).status_code == 401


def test_the_command_line_lists_contacts_and_segment_members(run, seeded) -> None:
    listed = run("contacts", "list", "--limit", "2")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines == ["c1\tOna One\tone@example.com\tactive\talpha,beta", "c2\tTom Two\ttwo@example.com\tactive\talpha"]
    assert "2 of 4 contacts; next page: --after c2" in listed.stderr
    rest = run("contacts", "list", "--after", "c2", "-q", "THREE")
    assert [line.split("\t")[0] for line in rest.stdout.splitlines()] == ["c3"]
    members = run("segments", "members", "beta")
    assert [line.split("\t")[0] for line in members.stdout.splitlines()] == ["c1", "c4"]
    assert "2 of 2 members of 'Beta'" in members.stderr
    bad = run("contacts", "list", "--state", "gone")
    assert bad.exit_code == 1 and bad.output.strip() == "Error: state: must be one of active, deleted, suppressed"
    assert run("segments", "members", "nope").output.strip() == "Error: segment 'nope' not found"
