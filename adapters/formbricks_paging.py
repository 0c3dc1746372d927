"""Reading Formbricks listings: v2 pages by limit/skip, and segments gathered from the surveys that carry them.

The management API has no segment list, so segments are found on surveys; their members are resolved by the
host (contact links) or, where no live link survey carries one, by evaluating its filters here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters import segment_filters
from adapters.base import AdapterError, Contact
from adapters.host_errors import unwrap
from adapters.http import HostClient

log = logging.getLogger(__name__)

PAGE_LIMIT = 250  # v2 maximum
MAX_EMPTY_PAGES = 10


def v2_pages(client: HostClient, path: str, params: Mapping[str, Any], what: str) -> Iterator[dict[str, Any]]:
    """Items of a v2 listing paged by limit/skip.

    With ``meta.total`` the pages run until ``skip`` reaches it, because a page can be short while more
    exist (the contact-links endpoint drops contacts whose link fails); without meta, a short page ends.
    """
    skip = empty_pages = 0
    while True:
        query = {**params, "limit": PAGE_LIMIT, "skip": skip}
        body = client.get_json(path, params=query, what=what)
        page = unwrap(body, what=what, expect=list)
        yield from (item for item in page if isinstance(item, dict))
        meta = body.get("meta")
        total = meta.get("total") if isinstance(meta, dict) else None
        skip += PAGE_LIMIT
        empty_pages = 0 if page else empty_pages + 1
        if empty_pages >= MAX_EMPTY_PAGES:  # a total that never comes true must not page forever
            log.warning("%s: %d empty pages in a row before meta.total; stopping", what, empty_pages)
            return
        if isinstance(total, int) and not isinstance(total, bool):
            if skip >= total:
                return
        elif len(page) < PAGE_LIMIT:
            return


def segments_on_surveys(
    surveys: Iterable[dict[str, Any]], include_private: bool
) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each segment found on the surveys (public only unless asked), with the surveys that carry it."""
    found: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for raw in surveys:
        seg = raw.get("segment")
        if not isinstance(seg, dict) or not seg.get("id"):
            continue
        if seg.get("isPrivate") and not include_private:
            continue
        found.setdefault(str(seg["id"]), (seg, []))[1].append(raw)
    return found


def evaluate(seg: Mapping[str, Any], contacts: Sequence[Contact], now: datetime) -> list[str]:
    """Host ids of the contacts a segment's filters select, evaluated here."""
    filters = seg.get("filters") or []
    try:
        return [c.host_id for c in contacts if segment_filters.matches(filters, c, now)]
    except AdapterError as exc:
        raise AdapterError(f"segment {seg.get('title')!r}: {exc.message}", body=filters) from exc
