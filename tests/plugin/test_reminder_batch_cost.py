"""A reminder batch made after others skips the contacts they hold at one index lookup each, on SQLite and in
PostgreSQL's generic plan, so its cost no longer grows with the claims before it.

The claim skips every contact the open batches before it hold. Probed through ``uq_contacts_made_open_claim``
(partial: ``status = 'pending'``) a held contact costs one index lookup; when PostgreSQL could not use that index
(from a batch's 11th run on one connection: psycopg prepares a statement run five times, and five runs later
PostgreSQL plans it once for any parameters) it compared every link with every held claim, and the 20th batch of
1,000 in a row took 10 s where the 1st took 50 ms (bench/reminder_paths.py measures it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from psycopg import sql as psycopg_sql
from sqlalchemy.dialects.postgresql import psycopg

from plugin.db import db
from plugin.models import ReminderBatch
from plugin.services.followup.reminder_batches import claim_statement, create_batch
from plugin.services.followup.reminders import Cadence
from tests.helpers import NOW, SURVEY_ID

CONTACTS, SIZE, BEFORE = 600, 25, 19
INDEX = "uq_contacts_made_open_claim"


def _survey_with_open_batches(count: int) -> None:
    """``CONTACTS`` contacts with a link each to survey-1, and ``count`` open batches of ``SIZE`` holding the first."""
    naive = NOW.replace(tzinfo=None)
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO contacts (id, host_id, email, attributes, source, created_at, updated_at)"
            " VALUES (:id, :host, :email, '{}', 'test', :now, :now)"),
            [{"id": i, "host": f"c{i}", "email": f"p{i}@example.com", "now": naive} for i in range(1, CONTACTS + 1)])
        connection.execute(sa.text(
            "INSERT INTO surveys (id, name, public_url, type, status, hidden_field_ids, single_use, source,"
            " created_at, updated_at) VALUES (:id, 'S', 'https://forms.example.com/s/s', 'link', 'inProgress',"
            " '[\"plink\"]', false, 'manual', :now, :now)"), {"id": SURVEY_ID, "now": naive})
        connection.execute(sa.text(
            "INSERT INTO links (survey_id, contact_id, created_at, max_uses, use_count, open_count, is_current)"
            " SELECT :survey, id, :now, 1, 0, 0, true FROM contacts ORDER BY id"), {"survey": SURVEY_ID, "now": naive})
    for _ in range(count):
        create_batch(db.session, SURVEY_ID, Cadence(), NOW, limit=SIZE, channel="email",
                     timeout=timedelta(minutes=30), actor="t")
        db.session.commit()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def _naive(value: Any) -> Any:
    """A parameter as UTCDateTime binds it: a time as naive UTC (text on SQLite)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def plan(statement: Any) -> str:
    """The claim's plan as the server runs it many times: SQLite's, with its parameters bound; PostgreSQL's generic
    plan (``plan_cache_mode = force_generic_plan``), the one a prepared statement gets for any parameters."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            compiled = statement.compile(connection, compile_kwargs={"render_postcompile": True})
            values = tuple(_naive(compiled.params[name]) for name in compiled.positiontup or ())
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values)
            return "\n".join(str(row[-1]) for row in rows)
        compiled = statement.compile(dialect=psycopg.dialect(paramstyle="numeric_dollar"),
                                     compile_kwargs={"render_postcompile": True})
        raw = connection.connection.dbapi_connection
        values = ", ".join(psycopg_sql.Literal(_naive(compiled.params[name])).as_string(raw)
                           for name in compiled.positiontup or ())
        connection.exec_driver_sql(f"PREPARE claim AS {compiled}".replace("%", "%%"))
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE claim({values})".replace("%", "%%"))
        text = "\n".join(str(row[0]) for row in rows)
        connection.exec_driver_sql("DEALLOCATE claim")
        connection.rollback()
        return text


def test_the_claim_probes_the_open_claims_index_after_nineteen_open_batches(app: Flask) -> None:
    _survey_with_open_batches(BEFORE)
    batch = ReminderBatch(survey_id=SURVEY_ID, status="open", channel="email", cadence={}, actor="t", created_at=NOW,
                          expires_at=NOW + timedelta(minutes=30))
    db.session.add(batch)
    db.session.commit()
    statement = claim_statement(db.engine.dialect.name, SURVEY_ID, Cadence(), NOW, batch_id=batch.id, limit=SIZE,
                                channel="email", actor="t")
    found = plan(statement)
    assert INDEX in found, found
    # the lookup is by contact (SQLite: "(survey_id=? AND contact_id=?)" on the index's line; PostgreSQL: its Index
    # Cond on the next), not a read of every claim of the survey to compare each link with
    scan, condition = (found.split(INDEX, 1)[1].splitlines() + [""])[:2]
    assert "contact_id = links.contact_id" in condition or "contact_id=?" in scan, found


def test_the_twentieth_batch_claims_what_the_first_left(app: Flask) -> None:
    _survey_with_open_batches(BEFORE)
    made = create_batch(db.session, SURVEY_ID, Cadence(), NOW, limit=SIZE, channel="email",
                        timeout=timedelta(minutes=30), actor="t")
    db.session.commit()
    hosts = [row.contact_host_id for row in made.contacts]
    assert hosts == [f"c{i}" for i in range(BEFORE * SIZE + 1, (BEFORE + 1) * SIZE + 1)]
