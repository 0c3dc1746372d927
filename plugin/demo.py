"""Demo mode: the bundled contacts, a demo survey served by the sidecar itself, and a first admin key."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import Flask
from sqlalchemy import func, select

from adapters.csv_file import CsvContactSource
from plugin.db import db
from plugin.models import ApiKey, Contact
from plugin.services.admin.api_keys import create_key
from plugin.services.contacts.contacts import import_contacts
from plugin.services.host.surveys import save_survey
from plugin.services.responses.attribution import Applied, Intake, apply_delivery
from plugin.services.responses.records import Delivery, ResponseRecord
from plugin.state import state

DEMO_SURVEY = "demo-survey"
DEMO_KEY_NAME = "demo admin"  # the key the first start makes and shows


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
        _, key = create_key(session, DEMO_KEY_NAME, now)
    session.commit()
    return key


def kept_key() -> ApiKey | None:
    """The key the demo's first start showed, while it is active (None once revoked)."""
    return db.session.scalar(select(ApiKey).where(ApiKey.name == DEMO_KEY_NAME, ApiKey.revoked_at.is_(None))
                             .order_by(ApiKey.id).limit(1))


def answer(survey_id: str, token: str, now: datetime, intake: Intake) -> Applied:
    """Demo mode's stand-in for the host: a finished response to the demo survey carrying ``token`` in the hidden
    field, applied as the host's ``responseFinished`` webhook is (the same ``apply_delivery``), in the session."""
    record = ResponseRecord(id=f"demo-{secrets.token_hex(6)}", survey_id=survey_id, finished=True, created_at=now,
                            updated_at=now, contact_id=None, meta_url=None, single_use_id=None,
                            data={intake.hidden_field: token})
    return apply_delivery(db.session, Delivery("responseFinished", "demo", record), now, intake)
