"""Issuing the same segment from several threads at once: no error, one current link per contact."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from plugin.db import db
from plugin.models import Link
from plugin.services.links import links
from plugin.services.links.params import IssueOptions
from tests.helpers import NOW


def test_parallel_issuers_make_one_link_each(app, seeded) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def issue() -> None:
        with app.app_context():
            try:
                survey = links.get_survey(db.session, "survey-1")
                barrier.wait(timeout=10)
                links.issue_links(db.session, survey, links.segment_contacts("alpha"), IssueOptions(), NOW, "t")
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    rows = db.session.execute(select(Link.contact_id, func.count()).group_by(Link.contact_id)).all()
    assert len(rows) == 3 and all(count == 1 for _, count in rows)
