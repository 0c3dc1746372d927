"""The sidecar's own admin API: CSV download, link lists, segments, surveys, and the OpenAPI document."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from plugin.db import db
from plugin.models import Link
from plugin.services.links.export import HEADER, neutralise

API = "/api/personal-links/v1"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def test_segment_csv_header_rows_and_escaping(client, seeded, api_headers) -> None:
    response = client.get(f"{API}/surveys/survey-1/segments/beta/links.csv", headers=api_headers,
                          query_string={"expiresOn": "2026-12-31"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert 'filename="personal-links-survey-1-beta.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Formbricks Contact ID", "Custom ID", "First Name", "Last Name", "Email", "Personal Link"]
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {"c1", "c4"}
    assert by_id["c4"][2:5] == ["'+Eve", "'-Evil", "'=HYPERLINK(\"x\")"]
    assert by_id["c1"][5].startswith("https://links.example.com/c/")
    again = client.get(f"{API}/surveys/survey-1/segments/beta/links.csv", headers=api_headers)
    assert again.get_data() == response.get_data()  # the same links: a CSV can be downloaded again
    assert db.session.scalar(select(func.count()).select_from(Link)) == 2


def test_neutralise_every_formula_start() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(start + "1") == "'" + start + "1"
    assert neutralise("plain") == "plain" and neutralise(None) == ""
    assert HEADER[0] == "Formbricks Contact ID"


def test_link_list_filters_by_state_and_segment(client, seeded, api_headers) -> None:
    client.get(f"{API}/surveys/survey-1/segments/alpha/links.csv", headers=api_headers)
    listed = client.get(f"{API}/surveys/survey-1/links", headers=api_headers).get_json()
    assert listed["meta"]["total"] == 3 and {item["state"] for item in listed["data"]} == {"live"}
    client.post(f"{API}/links/{listed['data'][0]['id']}/revoke", headers=api_headers)
    revoked = client.get(f"{API}/surveys/survey-1/links", headers=api_headers, query_string={"state": "revoked"})
    assert [item["id"] for item in revoked.get_json()["data"]] == [listed["data"][0]["id"]]
    beta = client.get(f"{API}/surveys/survey-1/links", headers=api_headers, query_string={"segment": "beta"})
    assert [item["contactId"] for item in beta.get_json()["data"]] == ["c1"]
    bad = client.get(f"{API}/surveys/survey-1/links", headers=api_headers, query_string={"state": "weird"})
    assert bad.status_code == 422


def test_revoke_unknown_link_is_404(client, seeded, api_headers) -> None:
    assert client.post(f"{API}/links/999/revoke", headers=api_headers).status_code == 404


def test_segments_with_counts_and_the_empty_state(client, app, api_headers) -> None:
    empty = client.get(f"{API}/segments", headers=api_headers).get_json()
    assert empty["data"] == [] and "create segments first" in empty["message"]


def test_segments_list(client, seeded, api_headers) -> None:
    data = client.get(f"{API}/segments", headers=api_headers).get_json()["data"]
    assert [(s["id"], s["memberCount"]) for s in data] == [("alpha", 3), ("beta", 2)]


def test_survey_registration_validates(client, app, api_headers) -> None:
    ok = client.put(f"{API}/surveys/s-9", headers=api_headers, json={"publicUrl": "https://f.example/s/s-9"})
    assert ok.status_code == 200 and ok.get_json()["data"]["hiddenFieldIds"] == ["plink"]
    for body, field in (({"publicUrl": "javascript:alert(1)"}, "publicUrl"), ({"publicUrl": 3}, "publicUrl"),
                        ({"publicUrl": "https://f.example", "type": "x"}, "type")):
        bad = client.put(f"{API}/surveys/s-9", headers=api_headers, json=body)
        assert bad.status_code == 422 and bad.get_json()["error"]["details"][0]["field"] == field
    assert client.put(f"{API}/surveys/s-9", headers=api_headers, data="{").status_code == 422
    assert client.put(f"{API}/surveys/bad%20id", headers=api_headers, json={}).status_code == 422
    assert client.get(f"{API}/surveys", headers=api_headers).get_json()["data"][0]["publicUrl"] == "https://f.example/s/s-9"


def test_oversized_body_is_413(client, app, api_headers) -> None:
    response = client.put(f"{API}/surveys/s-9", headers=api_headers, data="x" * (2 * 1024 * 1024),
                          content_type="application/json")
    assert response.status_code == 413 and response.get_json()["error"]["code"] == 413


def test_openapi_documents_every_api_route(app: Flask, client) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/webhooks/")):
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + camel(m.group(1)) + "}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routed.add((path, method.lower()))
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routed == documented
    for path, item in document["paths"].items():
        for operation in item.values():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == {part[1:-1] for part in path.split("/") if part.startswith("{")}, path


def test_last_used_is_written_at_most_every_five_minutes(client, app, api_headers, clock) -> None:
    from plugin.models import ApiKey

    client.get(f"{API}/surveys", headers=api_headers)
    first = db.session.scalar(select(ApiKey.last_used_at))
    clock.advance(minutes=4)
    client.get(f"{API}/surveys", headers=api_headers)
    db.session.expire_all()
    assert db.session.scalar(select(ApiKey.last_used_at)) == first
    clock.advance(minutes=2)
    client.get(f"{API}/surveys", headers=api_headers)
    db.session.expire_all()
    assert db.session.scalar(select(ApiKey.last_used_at)) == first + timedelta(minutes=6)
