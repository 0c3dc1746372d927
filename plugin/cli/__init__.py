"""The ``personal-links`` command: serve, database, API keys, contacts, segments, surveys, links, suppressions,
jobs, host.

Every error is one line on stderr and a non-zero exit, never a traceback. Each module adds its commands to
the one group in ``plugin.cli.base``.
"""

from plugin.cli import (  # noqa: F401  (they register their commands)
    directory,
    events,
    host,
    jobs,
    links,
    listen,
    people,
    reminders,
    server,
    suppressions,
)
from plugin.cli.base import cli


def main() -> None:
    """Entry point of the console script."""
    cli(obj={})


__all__ = ["cli", "main"]
