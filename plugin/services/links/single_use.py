"""Single-use surveys: each newly issued link gets its own single-use survey URL from the host.

The host then refuses a second response itself and resumes a half-finished one. Called right after
``issue_links`` in the same transaction: when the host fails, the caller rolls back and no link is left
without its single-use URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select, true, update

from adapters.base import AdapterError, SurveyHost
from plugin.db import DbSession
from plugin.models import Link, Survey

log = logging.getLogger(__name__)

CHUNK = 5000  # the host's largest singleUseIds request


def _waiting(session: DbSession, survey: Survey, batch_id: str, after: int) -> list[int]:
    """The next ``CHUNK`` ids of the batch's links still without a single-use URL, after link ``after``."""
    return list(session.scalars(select(Link.id).where(
        Link.survey_id == survey.id, Link.batch_id == batch_id, Link.is_current == true(),
        Link.single_use_url.is_(None), Link.id > after).order_by(Link.id).limit(CHUNK)))


def attach_single_use_urls(session: DbSession, survey: Survey, batch_id: str,
                           host: Callable[[], SurveyHost | None]) -> int:
    """Give the links of one issued batch a single-use URL each; return how many got one.

    Does nothing unless the survey has single-use links on; ``host`` is called only then. AdapterError when
    the host fails or gives fewer URLs than asked. Reads the batch a chunk at a time (keyset), so a batch of a
    million never holds a million ids in memory.
    """
    if not survey.single_use:
        return 0
    chunk = _waiting(session, survey, batch_id, 0)
    if not chunk:
        return 0
    survey_host = host()
    if survey_host is None:
        log.warning("survey %s has single-use links on but no survey host is configured; its links go to the "
                    "public URL without a single-use id", survey.id)
        return 0
    attached = 0
    while chunk:
        try:
            urls = survey_host.single_use_ids(survey.id, len(chunk))
        except AdapterError as exc:
            raise AdapterError(f"survey {survey.id} has single-use links on, and the host gave no single-use ids: "
                               f"{exc.message}; no links were issued", status=exc.status, body=exc.body) from exc
        if len(urls) < len(chunk):
            raise AdapterError(f"survey {survey.id}: the host gave {len(urls)} single-use ids where "
                               f"{len(chunk)} were asked; no links were issued, try again")
        session.execute(update(Link), [{"id": link_id, "single_use_url": url}
                                       for link_id, url in zip(chunk, urls, strict=False)])
        attached += len(chunk)
        chunk = _waiting(session, survey, batch_id, chunk[-1])
    return attached
