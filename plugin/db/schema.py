"""The database schema: upgrading it to the newest migration and saying what that changed."""

from __future__ import annotations

from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import inspect

from plugin.db import db


def current_revision() -> str | None:
    """The schema's Alembic revision, or None on a database without the sidecar's tables."""
    with db.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(app: Flask) -> tuple[str | None, str | None]:
    """Apply every migration not yet applied; the revision before and after."""
    before = current_revision()
    upgrade(directory=app.extensions["migrate"].directory)
    return before, current_revision()


def describe(before: str | None, after: str | None) -> str:
    """One line for the admin: created, upgraded or already up to date."""
    if before == after:
        return f"the database schema is up to date (revision {after})"
    if before is None:
        return f"created the database schema (revision {after})"
    return f"upgraded the database schema from revision {before} to {after}"
