"""Fixtures for the plugin's tests: a few contacts in segments and a link survey."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from adapters.csv_file import CsvContactSource
from plugin.db import db
from plugin.services.contacts import import_contacts
from plugin.services.surveys import save_survey
from tests.helpers import NOW

CONTACTS_CSV = """id,userId,email,firstName,lastName,segments,plan
c1,u1,one@example.com,Ona,One,Alpha;Beta,pro
c2,u2,two@example.com,Tom,Two,Alpha,free
c3,u3,three@example.com,Thea,Three,Alpha,pro
c4,u4,=HYPERLINK("x"),+Eve,-Evil,Beta,free
"""
SURVEY_ID = "survey-1"
SURVEY_URL = "https://forms.example.com/s/survey-1"


@pytest.fixture
def seeded(app: Flask) -> dict[str, Any]:
    """Contacts c1..c4 in segments alpha (c1-c3) and beta (c1, c4), and the link survey survey-1."""
    source = CsvContactSource(text=CONTACTS_CSV)
    import_contacts(db.session, source.contacts(), source.segments(), NOW, "test")
    save_survey(db.session, SURVEY_ID, {"name": "Survey one", "publicUrl": SURVEY_URL}, NOW, "plink")
    db.session.commit()
    return {"survey": SURVEY_ID, "segments": {"alpha": ["c1", "c2", "c3"], "beta": ["c1", "c4"]}}
