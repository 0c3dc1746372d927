"""The host waits 5 seconds: a delivery held up by a database lock still gets an answer well inside that."""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.db import db
from tests.webhooks.support import response_body, signed, token_of
from webhooks.models import InboxDelivery


def test_a_locked_database_answers_503_in_time_and_the_next_delivery_is_stored(
        app: Flask, client: FlaskClient, links: dict[str, int], database_url: str) -> None:
    body = response_body("responseFinished", "r-locked", token_of(links["c1"]), finished=True)
    engine = sa.create_engine(database_url)
    with engine.connect() as blocker:
        if engine.dialect.name == "postgresql":
            blocker.execute(sa.text("BEGIN"))
            blocker.execute(sa.text("LOCK TABLE webhook_inbox IN ACCESS EXCLUSIVE MODE"))
        else:
            blocker.exec_driver_sql("BEGIN IMMEDIATE")  # the one SQLite writer
        started = time.monotonic()
        answer = client.post("/webhooks/formbricks", data=body, headers=signed(body))
        elapsed = time.monotonic() - started
        blocker.rollback()
    engine.dispose()
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert elapsed < 4.5
    again = client.post("/webhooks/formbricks", data=body, headers=signed(body))  # the host's retry
    assert again.status_code == 200 and again.get_json()["outcome"] == "attributed"
    assert db.session.scalar(select(func.count()).select_from(InboxDelivery)) == 1
