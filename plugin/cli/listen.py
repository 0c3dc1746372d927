"""``events listen``: a receiver in the terminal that verifies the sidecar's signed events and says what came."""

from __future__ import annotations

import click

from plugin.cli.base import fail
from plugin.cli.events import events_group
from plugin.cli.output import shown
from plugin.services.events.event_receiver import EventReceiver, Received
from webhooks.signature import parse_secret


def _print(received: Received) -> None:
    click.echo(shown(received.line))  # click.echo flushes: a script reading the output sees each line at once


@events_group.command("listen")
@click.option("--port", required=True, type=click.IntRange(0, 65535), help="the port to listen on (0: any free one)")
@click.option("--host", default="127.0.0.1", show_default=True, help="the address to listen on")
@click.option("--secret", "secrets", multiple=True, required=True,
              help="the subscription's whsec_ signing secret (repeat while rotating)")
@click.option("--count", type=click.IntRange(1), help="exit after this many verified deliveries")
def listen(port: int, host: str, secrets: tuple[str, ...], count: int | None) -> None:
    """Receive events at http://HOST:PORT/: 204 to each verified delivery, 401 to any other; one line each."""
    keys = []
    for secret in secrets:
        try:
            keys.append(parse_secret(secret))
        except ValueError as exc:
            fail(f"--secret: {exc}")
    try:
        receiver = EventReceiver(host, port, keys, _print)
    except (OSError, OverflowError) as exc:
        fail(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}")
    click.echo(f"listening on http://{host}:{receiver.server_port}/ for signed events"
               f"{f', until {count} verified' if count else ''} (Ctrl+C stops)", err=True)
    with receiver:
        try:
            receiver.listen(count)
        except KeyboardInterrupt:
            pass
