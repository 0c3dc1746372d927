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
from plugin.cli.output import shown
from plugin.config import ConfigError
from plugin.db import SQLITE_BUSY_TIMEOUT_MS, db
from plugin.errors import ServiceError
from plugin.services.text import problem

ACTOR = "cli"
BUSY_WORDS = ("database is locked", "database is busy")  # SQLite's busy error, and plugin.db.write_turn's


def fail(message: str) -> None:
    """Stop with one line on stderr (what it names of the data shown escaped, see ``shown``)."""
    raise click.ClickException(shown(message))


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
            fail(_noted(exc.message, exc))
        except AdapterError as exc:
            db.session.rollback()
            fail(_noted(exc.message, exc))
        except DataError as exc:
            db.session.rollback()
            fail(_noted(f"a value cannot be stored (a NUL character, too long, or out of range): {_first_line(exc)}",
                        exc))
        except (OperationalError, ProgrammingError) as exc:
            db.session.rollback()
            fail(_noted(f"database error: {_first_line(exc)} ({_hint(exc)})", exc))
        except SQLAlchemyError as exc:
            db.session.rollback()
            fail(_noted(f"database error: {_first_line(exc)}", exc))


def _noted(message: str, exc: BaseException) -> str:
    """The message and the notes the error carries (what an import had written when it stopped), in one line."""
    return "; ".join([message, *getattr(exc, "__notes__", ())])


def _hint(exc: SQLAlchemyError) -> str:
    """What to do: wait for a busy SQLite database, else check that the database is there and upgraded."""
    if isinstance(exc, OperationalError) and any(word in _first_line(exc) for word in BUSY_WORDS):
        return (f"another process is writing and kept it busy for over {SQLITE_BUSY_TIMEOUT_MS // 1000} s; "
                "run the command again")
    return "is the database reachable and upgraded? run: personal-links db upgrade"


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


def check_arguments(ctx: click.Context) -> None:
    """Refuse, in one line naming it, a text argument no database can store (a non-UTF-8 argument arrives as
    lone surrogates); file names are left alone, any bytes name a file."""
    for param in ctx.command.params:
        if isinstance(param.type, click.Path | click.File) or param.name is None:
            continue
        value = ctx.params.get(param.name)
        for item in value if isinstance(value, tuple | list) else (value,):
            if isinstance(item, str) and (issue := problem(item)) is not None:
                name = param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
                fail(f"{name}: {issue}")


class CheckedCommand(click.Command):
    """A command whose text arguments are checked before it runs."""

    def invoke(self, ctx: click.Context) -> Any:
        check_arguments(ctx)
        return super().invoke(ctx)


class CheckedGroup(click.Group):
    """A group whose commands and subgroups check their text arguments (see ``check_arguments``)."""

    command_class = CheckedCommand
    group_class = type  # subgroups are CheckedGroups too

    def invoke(self, ctx: click.Context) -> Any:
        check_arguments(ctx)
        return super().invoke(ctx)


@click.group(cls=CheckedGroup)
@click.option("--demo", is_flag=True, help="Demo mode: generated key, bundled contacts, demo survey.")
@click.pass_context
def cli(ctx: click.Context, demo: bool) -> None:
    """Personal survey links for Formbricks and other hosts."""
    ctx.ensure_object(dict)
    ctx.obj["demo"] = demo
