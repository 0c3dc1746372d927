"""Local segments: saved host-format filters, validated precisely, evaluated over the contacts (API and CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from plugin.cli import cli
from plugin.db import db
from plugin.errors import InvalidInput, Refused
from plugin.models import Segment
from plugin.services.contacts.local_segments import attribute_filter, save_local_segment
from tests.helpers import NOW, PUBLIC_URL, SECRET_KEY
from tests.plugin.formbricks_host import PRO, members

API = "/api/personal-links/v1/segments"


def nested(op: str, value: object) -> list[dict[str, object]]:
    """plan = pro AND (email endsWith @example.com OR <op> value on firstName)."""
    inner = [{"id": "a", "connector": None, "resource": attribute_filter("email", "endsWith", "@example.com")[0]
              ["resource"]},
             {"id": "b", "connector": "or", "resource": attribute_filter("firstName", op, value)[0]["resource"]}]
    return [PRO[0], {"id": "n", "connector": "and", "resource": inner}]


@pytest.mark.parametrize("filters, problem", [
    ({"not": "a list"}, "filters: must be a list"),
    ([{**PRO[0], "connector": "and"}], "filters[0].connector: must be null on the first item"),
    (attribute_filter("plan", "isAbout", "pro"), "filters[0].resource.qualifier.operator: unknown operator"),
    (attribute_filter("age", "greaterThan", "ten"), "operator 'greaterThan' needs a number"),
    (nested("startsWith", ["x"]), "filters[1].resource[1].resource.value"),
    ([{"id": "d", "connector": None, "resource": {"id": "r", "root": {"type": "device", "deviceType": "phone"},
                                                 "qualifier": {"operator": "equals"}, "value": "phone"}}],
     "filters[0].resource.root.type: 'device' filters need the host's data"),
])
def test_malformed_filters_are_refused_with_their_path(app, filters, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        save_local_segment(db.session, "s", {"title": "S", "filters": filters}, NOW)
    assert problem in caught.value.message


def test_a_local_segment_is_evaluated_when_saved(app, seeded) -> None:
    row = save_local_segment(db.session, "pro-or-tom", {"title": "Pro or Tom", "filters": [
        PRO[0], {"id": "f2", "connector": "or", "resource": attribute_filter("firstName", "equals", "Tom")[0]
                 ["resource"]}]}, NOW)
    db.session.commit()
    assert row.kind == "local"
    assert members("pro-or-tom") == ["c1", "c2", "c3"]


def test_host_and_static_segment_ids_are_not_taken_over(app, seeded) -> None:
    with pytest.raises(Refused, match="is a static segment"):
        save_local_segment(db.session, "alpha", {"title": "Alpha", "filters": PRO}, NOW)


def test_admin_api_puts_and_deletes_local_segments(client, api_headers, seeded) -> None:
    put = client.put(f"{API}/pros", json={"title": "Pros", "filters": PRO}, headers=api_headers)
    assert put.status_code == 200
    assert put.get_json()["data"] == {"id": "pros", "title": "Pros", "description": None, "kind": "local",
                                      "filters": PRO, "memberCount": 2}
    bad = client.put(f"{API}/pros", json={"title": "Pros", "filters": attribute_filter("plan", "is", "x")},
                     headers=api_headers)
    assert bad.status_code == 422 and "unknown operator 'is'" in bad.get_json()["error"]["detail"]
    assert client.delete(f"{API}/alpha", headers=api_headers).status_code == 400
    assert client.delete(f"{API}/pros", headers=api_headers).status_code == 200
    assert db.session.get(Segment, "pros") is None
    assert client.delete(f"{API}/pros", headers=api_headers).status_code == 404
    assert client.put(f"{API}/x", json={"title": "X", "filters": PRO}).status_code == 401


def test_cli_builds_a_segment_from_an_attribute_or_a_json_file(app, seeded, database_url, monkeypatch,
                                                                tmp_path: Path) -> None:
    for name, value in {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL}.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)
    runner = CliRunner()
    made = runner.invoke(cli, ["segments", "add-filter", "free", "--title", "Free plan", "--attribute", "plan",
                               "--operator", "equals", "--value", "free"], obj={})
    assert made.exit_code == 0 and "local segment free (Free plan): 2 contacts" in made.output
    tree = tmp_path / "pro.json"
    tree.write_text(json.dumps(PRO))
    assert "2 contacts" in runner.invoke(cli, ["segments", "add-filter", "pro", "--title", "Pro", "--json",
                                               str(tree)], obj={}).output
    bad = runner.invoke(cli, ["segments", "add-filter", "x", "--title", "X", "--attribute", "n", "--operator",
                              "greaterThan", "--value", "many"], obj={})
    assert bad.exit_code == 1 and "needs a number, got 'many'" in bad.output
    assert runner.invoke(cli, ["segments", "remove", "free"], obj={}).exit_code == 0
    db.session.rollback()
    assert sorted(db.session.scalars(select(Segment.id).where(Segment.kind == "local"))) == ["pro"]


@pytest.mark.parametrize("operator, value", [("equals", ""), ("contains", "  ")])
def test_a_filter_without_a_value_is_refused_by_the_api(client, api_headers, seeded, operator: str, value) -> None:
    """``equals ""`` matched no one (empty cells are left out) and ``contains ""`` everyone, silently (a missing
    value was refused already)."""
    put = client.put(f"{API}/empty", json={"title": "Empty", "filters": attribute_filter("plan", operator, value)},
                     headers=api_headers)
    assert put.status_code == 422, put.get_json()
    assert f"operator {operator!r} needs a value" in put.get_json()["error"]["detail"]
    assert db.session.get(Segment, "empty") is None


def test_a_filter_without_a_value_is_refused_by_the_cli(run, seeded) -> None:
    missing = run("segments", "add-filter", "x", "--title", "X", "--attribute", "plan", "--operator", "equals")
    assert missing.exit_code == 1
    assert missing.output == "Error: --value: required with --operator equals (only isSet and isNotSet take none)\n"
    empty = run("segments", "add-filter", "x", "--title", "X", "--attribute", "plan", "--operator", "contains",
                "--value", "")
    assert empty.exit_code == 1 and "operator 'contains' needs a value" in empty.output
    assert run("segments", "add-filter", "x", "--title", "X", "--attribute", "plan", "--operator",
               "isSet").exit_code == 0
    assert db.session.get(Segment, "x") is not None


def test_an_attribute_name_longer_than_255_characters_is_refused(client, api_headers, run, seeded) -> None:
    long = "a" * 100_000
    put = client.put(f"{API}/long", json={"title": "Long", "filters": attribute_filter(long, "isSet", None)},
                     headers=api_headers)
    assert put.status_code == 422
    assert ("filters[0].resource.root.contactAttributeKey: an attribute name is at most 255 characters (it has "
            "100000)") in put.get_json()["error"]["detail"]
    cli = run("segments", "add-filter", "long", "--title", "Long", "--attribute", long, "--operator", "isSet")
    assert cli.exit_code == 1 and "at most 255 characters (it has 100000)" in cli.output
    assert len(cli.output) < 300 and db.session.get(Segment, "long") is None
