"""Webhook test fixtures: the shared verification cases and the deliveries captured from Formbricks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from adapters.csv_file import CsvContactSource
from plugin.db import db
from plugin.models import Contact, Link, Survey
from plugin.services.contacts.contacts import import_contacts
from plugin.services.host.surveys import save_survey
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from tests.helpers import NOW
from tests.webhooks.support import OTHER_SURVEY_ID, SECRET, SURVEY_ID

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"  # copies of the shared cases, kept in the repository


def _standard_cases() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "standard-webhooks-cases.json").read_text(encoding="utf-8"))["cases"]


def _captured() -> list[dict[str, Any]]:
    lines = (FIXTURES / "formbricks-webhooks-captured.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``standard_case`` and ``captured`` by the entries of the shared files, named by them."""
    if "standard_case" in metafunc.fixturenames:
        cases = _standard_cases()
        metafunc.parametrize("standard_case", cases, ids=[case["name"] for case in cases])
    if "captured" in metafunc.fixturenames:
        deliveries = _captured()
        ids = [json.loads(d["body"])["event"] for d in deliveries]
        metafunc.parametrize("captured", deliveries, ids=ids)


@pytest.fixture
def real_delivery() -> dict[str, Any]:
    """The first captured delivery (responseCreated), to re-sign with one thing broken per test."""
    return _captured()[0]


# The intake's tests: an app with a webhook secret, a survey with links, and signed deliveries.

@pytest.fixture
def app_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The webhook tests' app verifies with ``SECRET``; ``@pytest.mark.settings(NAME=value)`` adds settings."""
    marker = request.node.get_closest_marker("settings")
    return {"WEBHOOK_SECRETS": SECRET, **(marker.kwargs if marker else {})}


@pytest.fixture
def links(app: Flask) -> dict[str, int]:
    """Contacts c1..c3 with single-use links to survey-1, and c1 with a link to survey-2; link ids by name."""
    source = CsvContactSource(text="id,email,segments\nc1,one@example.com,Alpha\nc2,two@example.com,Alpha\n"
                                   "c3,three@example.com,Alpha\n")
    import_contacts(db.session, source.contacts(), source.segments(), NOW, "test")
    for survey_id in (SURVEY_ID, OTHER_SURVEY_ID):
        save_survey(db.session, survey_id, {"publicUrl": f"https://forms.example.com/s/{survey_id}"}, NOW, "plink")
    everyone = select(Contact.id)
    issue_links(db.session, db.session.get(Survey, SURVEY_ID), everyone, IssueOptions(), NOW, "test")
    issue_links(db.session, db.session.get(Survey, OTHER_SURVEY_ID),
                everyone.where(Contact.host_id == "c1"), IssueOptions(), NOW, "test")
    db.session.commit()
    rows = db.session.execute(select(Contact.host_id, Link.survey_id, Link.id).join(Link)).all()
    return {("other-" if survey == OTHER_SURVEY_ID else "") + host_id: link_id for host_id, survey, link_id in rows}


