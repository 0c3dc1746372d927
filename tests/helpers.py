"""Constants and small helpers the test folders share (importable as ``tests.helpers``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.csv_file import CsvContactSource
from plugin.db import db
from plugin.services.contacts.contacts import import_contacts
from plugin.services.host.surveys import save_survey

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
SECRET_KEY = "test-secret-key-0123456789"
PUBLIC_URL = "https://links.example.com"
POSTGRES_URL = os.environ.get("PERSONAL_LINKS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("PERSONAL_LINKS_TEST_REQUIRE_POSTGRES") == "1"


def base_config(database_url: str, **extra: Any) -> dict[str, Any]:
    """The settings every test app starts from."""
    # opens written in the request that makes them (tests/plugin/test_open_log.py covers writing them behind it)
    return {"TESTING": True, "SECRET_KEY": SECRET_KEY, "PUBLIC_URL": PUBLIC_URL, "DATABASE_URL": database_url,
            "OPEN_FLUSH_MS": 0, **extra}


CONTACTS_CSV = """id,userId,email,firstName,lastName,segments,plan
c1,u1,one@example.com,Ona,One,Alpha;Beta,pro
c2,u2,two@example.com,Tom,Two,Alpha,free
c3,u3,three@example.com,Thea,Three,Alpha,pro
c4,u4,=HYPERLINK("x"),+Eve,-Evil,Beta,free
"""
SURVEY_ID = "survey-1"
SURVEY_URL = "https://forms.example.com/s/survey-1"


def seed(contacts: bool = True) -> None:
    """Contacts c1..c4 in segments alpha (c1-c3) and beta (c1, c4; c4's cells look like formulas) and the link
    survey survey-1; ``contacts=False`` gives the survey alone (no segments at all)."""
    if contacts:
        source = CsvContactSource(text=CONTACTS_CSV)
        import_contacts(db.session, source.contacts(), source.segments(), NOW, "test")
    save_survey(db.session, SURVEY_ID, {"name": "Survey one", "publicUrl": SURVEY_URL}, NOW, "plink")
    db.session.commit()


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """A URL whose search_path is a new, empty schema of the test database; the schema is dropped after.

    Without a reachable server the test is skipped with the reason, or fails when
    ``PERSONAL_LINKS_TEST_REQUIRE_POSTGRES=1`` (CI).
    """
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.orig}"
        (pytest.fail if REQUIRE_POSTGRES else pytest.skip)(message)
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
