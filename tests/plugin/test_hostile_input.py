"""Malformed and hostile input gets a precise 4xx, on both databases, never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from plugin.cli import cli
from plugin.db import db
from plugin.models import Contact, Survey
from tests.helpers import PUBLIC_URL, SECRET_KEY

API = "/api/personal-links/v1"


def test_deeply_nested_json_is_422(client, app, api_headers) -> None:
    body = "[" * 100_000 + "]" * 100_000
    for path in (f"{API}/surveys/s-1", f"{API}/segments/local-1"):
        response = client.put(path, headers=api_headers, data=body[:900_000], content_type="application/json")
        assert response.status_code == 422, path
        assert response.get_json()["error"]["details"][0]["field"] == "body"


@pytest.mark.parametrize("value", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00", "1800-01-01"])
def test_extreme_dates_are_422(client, seeded, api_headers, value) -> None:
    response = client.get("/api/v2/management/surveys/survey-1/contact-links/contacts/c1", headers=api_headers,
                          query_string={"validFrom": value})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "validFrom"


@pytest.mark.parametrize("path", [f"{API}/responses/a%00b/attribution", f"{API}/surveys/survey-1/links?segment=a%00",
                                  "/api/v2/management/surveys/survey-1/contact-links/contacts/c%001"])
def test_nul_characters_are_refused(client, seeded, api_headers, path) -> None:
    response = client.get(path, headers=api_headers)
    assert response.status_code in (404, 422)
    assert response.is_json


def test_api_keys_with_odd_characters_are_401(client, seeded) -> None:
    for key in ("plk_abcdefgh_\x00" + "a" * 30, "plk_" + "é" * 40, "plk_abcdefgh_" + "a" * 500):
        response = client.get(f"{API}/surveys", headers={"x-api-key": key})
        assert response.status_code == 401


def test_overlong_survey_fields_are_422(client, app, api_headers) -> None:
    response = client.put(f"{API}/surveys/s-1", headers=api_headers,
                          json={"publicUrl": "https://f.example/s/1", "status": "x" * 40})
    assert response.status_code == 422 and response.get_json()["error"]["details"][0]["field"] == "status"
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 0


def test_overlong_contact_fields_are_one_line_and_change_nothing(app, database_url, monkeypatch,
                                                                 tmp_path: Path) -> None:
    for name, value in {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL}.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)
    file = tmp_path / "c.csv"
    file.write_text(f"id,email\nk1,ok@x.org\nk2,{'x' * 330}@x.org\n")
    result = CliRunner().invoke(cli, ["contacts", "import", str(file)], obj={})
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "Error: email: contact 'k2': longer than 320 characters"
    assert "Traceback" not in result.output
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


HOSTILE_URLS = [
    ("http://[::1", "names no valid host"),
    ("http://[::1]]/", "names no valid host"),
    ("https://f.example/s/1\r\nSet-Cookie: a=1", "holds spaces, control or non-ASCII characters"),
    ("https://f.example/s/1\x85", "holds spaces, control or non-ASCII characters"),
    ("https://f.example:0/s/1", "has a port that is not a number from 1 to 65535"),
    ("https://user:pw@f.example/s/1", "must not hold a user name or password"),
]


@pytest.mark.parametrize(("url", "said"), HOSTILE_URLS)
def test_hostile_survey_urls_are_422_and_change_nothing(client, app, api_headers, url: str, said: str) -> None:
    assert client.put(f"{API}/surveys/s-1", headers=api_headers,
                      json={"publicUrl": "https://f.example/s/1"}).status_code == 200
    for survey_id in ("s-1", "s-2"):  # an update and a new survey
        response = client.put(f"{API}/surveys/{survey_id}", headers=api_headers, json={"publicUrl": url})
        assert response.status_code == 422, response.get_json()
        (detail,) = response.get_json()["error"]["details"]
        assert detail["field"] == "publicUrl" and detail["issue"].startswith(said)
    db.session.rollback()
    assert db.session.scalars(select(Survey.public_url)).all() == ["https://f.example/s/1"]


@pytest.mark.parametrize(("url", "said"), HOSTILE_URLS[:3])
def test_surveys_add_refuses_a_hostile_url_in_one_line(run, url: str, said: str) -> None:
    result = run("surveys", "add", "s-1", "--url", url)
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: publicUrl: {said}")
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 0
