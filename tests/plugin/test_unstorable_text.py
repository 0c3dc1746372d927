"""NUL characters and lone surrogates are refused everywhere with the field named, on both databases alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from adapters.base import Contact as SourceContact
from adapters.base import Segment as SourceSegment
from plugin.cli import cli
from plugin.db import db
from plugin.models import Contact, Segment, Survey
from plugin.services.contacts.contacts import import_contacts
from plugin.services.text import UnstorableText
from tests.helpers import NOW, PUBLIC_URL, SECRET_KEY

API = "/api/personal-links/v1"
SURROGATE, NUL = "\ud800", "\x00"


def _put(client, path: str, document: dict, headers: dict[str, str]):
    # json.dumps escapes the lone surrogate as \ud800, exactly what a client sends
    return client.put(path, data=json.dumps(document), headers=headers, content_type="application/json")


def _field(response) -> str:
    assert response.status_code == 422, response.get_data(as_text=True)
    return response.get_json()["error"]["details"][0]["field"]


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
def test_survey_fields_are_refused_by_name(client, app, api_headers, bad: str) -> None:
    document = {"publicUrl": "https://f.example/s/1", "name": f"a{bad}b"}
    assert _field(_put(client, f"{API}/surveys/s-1", document, api_headers)) == "name"
    document = {"publicUrl": "https://f.example/s/1", "hiddenFieldIds": ["plink", f"x{bad}"]}
    assert _field(_put(client, f"{API}/surveys/s-1", document, api_headers)) == "hiddenFieldIds[1]"
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 0


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
def test_segment_fields_are_refused_by_name(client, app, api_headers, bad: str) -> None:
    filters = [{"id": "f1", "connector": None, "resource": {"id": "r1", "root": {"type": "attribute",
               "contactAttributeKey": "plan"}, "value": f"pro{bad}", "qualifier": {"operator": "equals"}}}]
    assert _field(_put(client, f"{API}/segments/local-1", {"title": f"T{bad}", "filters": []},
                       api_headers)) == "title"
    assert _field(_put(client, f"{API}/segments/local-1", {"title": "T", "filters": filters},
                       api_headers)) == "filters[0].resource.value"
    assert _field(_put(client, f"{API}/segments/local-1", {"title": "T", f"k{bad}": 1, "filters": []},
                       api_headers)) == "body (a key)"
    assert db.session.scalar(select(func.count()).select_from(Segment)) == 0


def test_query_strings_and_paths_are_checked(client, seeded, api_headers) -> None:
    assert _field(client.get(f"{API}/surveys/survey-1/links?segment=al%00pha", headers=api_headers)) == "segment"
    assert _field(client.get(f"{API}/surveys/survey-1/links?seg%00=1", headers=api_headers)) == \
        "query parameter name"
    contact = "/api/v2/management/surveys/survey-1/contact-links/contacts/c%001"
    assert _field(client.get(contact, headers=api_headers)) == "contactId"
    assert _field(client.put(f"{API}/surveys/s%00", headers=api_headers, json={})) == "surveyId"


def test_cli_arguments_are_checked(app, database_url, monkeypatch) -> None:
    for name, value in {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL}.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)
    # A non-UTF-8 byte in an argument reaches Python as a lone surrogate (surrogateescape).
    argument = b"survey-\xff".decode("utf-8", "surrogateescape")
    result = CliRunner().invoke(cli, ["surveys", "add", argument, "--url", "https://f.example/s/1"], obj={})
    assert result.exit_code == 1
    assert result.output == "Error: SURVEY_ID: holds a lone surrogate (U+DCFF), which is not Unicode text\n"
    result = CliRunner().invoke(cli, ["surveys", "add", "s1", "--url", "https://f.example/s/1", "--name", argument],
                                obj={})
    assert result.exit_code == 1 and result.output.startswith("Error: --name: holds a lone surrogate")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 0


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
def test_imported_contacts_are_checked_on_both_databases(app, bad: str) -> None:
    # as a contact source gives them (the host's contacts API; the CSV reader refuses a NUL in the file itself)
    contacts = [SourceContact(host_id="k1", attributes={"team": "red"}),
                SourceContact(host_id="k2", attributes={"team": f"bl{bad}ue"})]
    with pytest.raises(UnstorableText) as caught:
        import_contacts(db.session, contacts, [], NOW, "test")
    assert caught.value.details[0]["field"] == "attributes.team"
    assert "contact 'k2'" in caught.value.message
    with pytest.raises(UnstorableText) as caught:
        import_contacts(db.session, [SourceContact(host_id="k1", first_name=f"A{bad}")], [], NOW, "test")
    assert caught.value.details[0]["field"] == "first_name"
    with pytest.raises(UnstorableText) as caught:
        import_contacts(db.session, [SourceContact(host_id="k1")], [SourceSegment(id="s", title=f"S{bad}",
                        member_ids=("k1",))], NOW, "test")
    assert caught.value.details[0]["field"] == "segment.title"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_contact_file_with_a_nul_is_refused_by_the_cli(app, database_url, monkeypatch, tmp_path: Path) -> None:
    for name, value in {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL}.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)
    file = tmp_path / "c.csv"
    file.write_bytes(b"id,team\nk1,red\nk2,bl\x00ue\n")
    result = CliRunner().invoke(cli, ["contacts", "import", str(file)], obj={})
    assert result.exit_code == 1 and "NUL" in result.output and len(result.output.strip().splitlines()) == 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_segment_filter_file_is_checked(app, database_url, monkeypatch, tmp_path: Path) -> None:
    for name, value in {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL}.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)
    result = CliRunner().invoke(cli, ["segments", "add-filter", "pros", "--title", "Pros", "--attribute", "plan",
                                      "--operator", "equals", "--value", '"pro\\u0000"'], obj={})
    assert result.exit_code == 1 and "holds a NUL character" in result.output, result.output
    assert result.output.startswith("Error: --value") and len(result.output.splitlines()) == 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Segment)) == 0
