"""Never lose an event: a sender killed in the middle of a drain (SIGKILL, in another process) leaves the batch
it claimed leased; once the lease ends the next drain sends them, with the same ids."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from plugin.db import db
from plugin.models import EventDelivery
from plugin.services.events import events
from plugin.state import state
from tests.helpers import SURVEY_ID
from tests.plugin.events_support import drain_now, real_time, running_receiver, subscribe, wait_for

ROOT = Path(__file__).resolve().parents[2]
SENDER = """
import sys
from plugin import create_app
from tests.helpers import base_config
from tests.plugin.events_support import drain_now
app = create_app(base_config(sys.argv[1]))
with app.app_context():
    drain_now()
"""


def test_a_sender_killed_mid_drain_loses_nothing(app: Flask, database_url: str, seeded: object) -> None:
    real_time(app)
    with running_receiver() as receiver:
        subscribe(receiver, "k", ["reminder.batch.created"])
        recorded = [events.record(db.session, "reminder.batch.created", survey_id=SURVEY_ID, contact_id=None,
                                  link_id=None, at=state().clock.now(), data={"number": n}) for n in range(5)]
        db.session.commit()
        receiver.hold = threading.Event()  # the first request arrives, and waits
        process = subprocess.Popen([sys.executable, "-c", SENDER, database_url], cwd=ROOT,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            wait_for(receiver.holding.is_set, timeout=30)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
            receiver.hold.set()
        receiver.hold = None
        held = set(receiver.ids())  # the requests in flight when it died (its batch claimed all five)
        assert held
        db.session.expire_all()
        leased = db.session.scalars(select(EventDelivery).where(EventDelivery.lease_until.is_not(None))).all()
        assert [row.status for row in leased] == ["pending"] * 5  # claimed, never settled

        real_time(app).advance(seconds=1)  # the killed sender ran on the real clock, to the microsecond
        assert drain_now()["delivered"] == 0  # the lease has not ended: they wait
        state().clock.advance(seconds=61)  # type: ignore[attr-defined]
        assert drain_now()["delivered"] == 5

        assert sorted(set(receiver.ids())) == sorted(recorded)  # every event arrived
        for webhook_id in recorded:  # the ones in flight twice, with the same id; the others once
            assert receiver.ids().count(webhook_id) == (2 if webhook_id in held else 1)
        db.session.expire_all()
        rows = db.session.scalars(select(EventDelivery)).all()
        assert {row.status for row in rows} == {"delivered"}
