"""Outbound events from the command line: subscriptions, the delivery log, redeliver, and one drain now."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask

from plugin.cli.base import cli, with_app
from plugin.cli.jobs import run_job_once
from plugin.cli.output import fields, shown
from plugin.clock import iso
from plugin.db import db
from plugin.models import DELIVERY_STATUSES
from plugin.services.events import delivery_log, events, subscriptions
from plugin.state import state


@cli.group("events")
def events_group() -> None:
    """Outbound events (signed like Standard Webhooks) and their subscriptions."""


@events_group.command("subscribe")
@click.argument("url")
@click.option("--event", "kinds", multiple=True, required=True, type=click.Choice(events.KINDS),
              help="an event kind to send (repeat for more)")
@click.option("--description", default="", help="what the receiver is, for the list")
@with_app
def subscribe(app: Flask, url: str, kinds: tuple[str, ...], description: str) -> None:
    """Send events of the chosen kinds to URL; prints the signing secret, once."""
    created = subscriptions.create_subscription(
        db.session, {"url": url, "events": list(kinds), "description": description}, state().clock.now())
    db.session.commit()
    click.echo(shown(f"subscription {created.subscription.id}: {created.subscription.url} "
                     f"({', '.join(created.subscription.kinds)})"))
    click.echo("its signing secret, shown once (the receiver verifies webhook-signature with it):")
    click.echo(created.secret)


@events_group.command("subscriptions")
@with_app
def list_subscriptions(app: Flask) -> None:
    """Every subscription: id, status, URL, kinds (never the secret)."""
    for row in subscriptions.list_subscriptions(db.session):
        click.echo(fields(row.id, row.status, row.url, ",".join(row.kinds), row.description or ""))


@events_group.command("unsubscribe")
@click.argument("subscription_id", type=click.IntRange(1, 2**31 - 1))
@with_app
def unsubscribe(app: Flask, subscription_id: int) -> None:
    """Remove a subscription and its deliveries."""
    subscriptions.delete_subscription(db.session, subscription_id)
    db.session.commit()
    click.echo(f"subscription {subscription_id} removed")


@events_group.command("pause")
@click.argument("subscription_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--resume", is_flag=True, help="send to it again")
@with_app
def pause(app: Flask, subscription_id: int, resume: bool) -> None:
    """Pause a subscription (or --resume it)."""
    row = subscriptions.set_paused(db.session, subscription_id, not resume, state().clock.now())
    db.session.commit()
    click.echo(f"subscription {row.id} is {row.status}")


@events_group.command("deliveries")
@click.option("--subscription", "subscription_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--status", type=click.Choice(DELIVERY_STATUSES))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
@with_app
def deliveries(app: Flask, subscription_id: int | None, status: str | None, limit: int) -> None:
    """The delivery log, newest first."""
    total, rows = delivery_log.list_deliveries(db.session, subscription_id=subscription_id, status=status,
                                               limit=limit)
    for row in rows:
        click.echo(fields(row.id, row.event_id, row.kind, f"subscription {row.subscription_id}", row.status,
                          f"attempts {row.attempts}", row.last_status or None, row.last_error or "",
                          f"next {iso(row.next_attempt_at) or '-'}"))
    click.echo(f"{len(rows)} of {total}")


@events_group.command("redeliver")
@click.argument("delivery_id", type=click.IntRange(1, 2**31 - 1))
@with_app
def redeliver(app: Flask, delivery_id: int) -> None:
    """Send a delivery again at the next drain (same event id)."""
    window = timedelta(hours=int(app.config["EVENTS_RETRY_HOURS"]))
    entry = delivery_log.redeliver(db.session, delivery_id, state().clock.now(), window)
    db.session.commit()
    click.echo(f"delivery {entry.id} ({entry.event_id}) is pending again")


@events_group.command("deliver")
@with_app
def deliver(app: Flask) -> None:
    """Send the waiting events now (the scheduler's events job, once)."""
    run_job_once(app, "events")
