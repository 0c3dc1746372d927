"""Demo mode: the bundled contacts, a demo survey served by the sidecar itself, and a first admin key."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from adapters.csv_file import CsvContactSource
from plugin.db import db
from plugin.models import ApiKey, Contact
from plugin.services.api_keys import create_key
from plugin.services.contacts import import_contacts
from plugin.services.surveys import save_survey
from plugin.state import state

DEMO_SURVEY = "demo-survey"


def prepare(app: Flask) -> str | None:
    """Load the demo data once; return a new admin key when none existed (to be shown once), else None."""
    now = state().clock.now()
    session = db.session
    if not session.scalar(select(func.count()).select_from(Contact)):
        source = CsvContactSource(app.config["CONTACTS_CSV"])
        import_contacts(session, source.contacts(), source.segments(), now, "demo")
    public = app.config["PUBLIC_URL"]
    save_survey(session, DEMO_SURVEY, {"name": "Demo survey", "publicUrl": f"{public}/demo/s/{DEMO_SURVEY}"},
                now, app.config["HIDDEN_FIELD"], source="demo")
    key = None
    if not session.scalar(select(func.count()).select_from(ApiKey)):
        _, key = create_key(session, "demo admin", now)
    session.commit()
    return key
