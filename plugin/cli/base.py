"""The command group and what every command shares: the app context, one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
from flask import Flask
from sqlalchemy.exc import DataError, OperationalError, ProgrammingError, SQLAlchemyError

from adapters.base import AdapterError
from plugin import create_app
from plugin.config import ConfigError
from plugin.db import db
from plugin.errors import ServiceError

ACTOR = "cli"


def fail(message: str) -> None:
    """Stop with one line on stderr."""
    raise click.ClickException(message)


@contextmanager
def app_context(ctx: click.Context) -> Iterator[Flask]:
    """The app, built from the environment (and --demo), with its context pushed; errors become one line."""
    try:
        app = create_app({"DEMO": True} if ctx.obj.get("demo") else None)
    except ConfigError as exc:
        fail(str(exc))
    with app.app_context():
        try:
            yield app
        except ServiceError as exc:
            db.session.rollback()
            fail(exc.message)
        except AdapterError as exc:
            db.session.rollback()
            fail(exc.message)
        except DataError as exc:
            db.session.rollback()
            fail(f"a value cannot be stored (a NUL character, too long, or out of range): {_first_line(exc)}")
        except (OperationalError, ProgrammingError) as exc:
            db.session.rollback()
            fail(f"database error: {_first_line(exc)} (is the database reachable and upgraded? "
                 f"run: personal-links db upgrade)")
        except SQLAlchemyError as exc:
            db.session.rollback()
            fail(f"database error: {_first_line(exc)}")


def _first_line(exc: SQLAlchemyError) -> str:
    return (str(getattr(exc, "orig", exc)).strip().splitlines() or [type(exc).__name__])[0]


def with_app(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command inside the app context."""

    @wraps(command)
    @click.pass_context
    def wrapped(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        with app_context(ctx) as app:
            return command(app, *args, **kwargs)

    return wrapped


@click.group()
@click.option("--demo", is_flag=True, help="Demo mode: generated key, bundled contacts, demo survey.")
@click.pass_context
def cli(ctx: click.Context, demo: bool) -> None:
    """Personal survey links for Formbricks and other hosts."""
    ctx.ensure_object(dict)
    ctx.obj["demo"] = demo
