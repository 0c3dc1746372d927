"""Page 1 and a far page (10,000 at the full size) of a survey's links and of its non-respondents, by ``skip`` and
by the keyset cursor, side by side, on SQLite through the app (in process, warm, best of 3).

The far page's cursor is the key of the row before it, read once from the database (untimed): walking 10,000
pages to get there is what a client does, not what the benchmark measures. The cursor page is checked to hold
the same rows as the skip page.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bulk_paths import SURVEY, sidecar_env, template
from plugin import create_app
from plugin.db import db

LIMIT = 100


@dataclass(frozen=True)
class Paged:
    """Seconds of page 1 and of the far page, by skip and by cursor, for one listing."""

    name: str
    count: int
    page: int
    first: float
    far_skip: float
    far_cursor: float


def _issue_all(path: Path) -> None:
    """One current link per contact, written directly (the issue benchmark measures issuing)."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO links (survey_id, contact_id, created_at, max_uses, use_count, open_count,"
                       " is_current) SELECT ?, id, ?, 1, 0, 0, 1 FROM contacts ORDER BY id", (SURVEY, now))
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def _best(call: Callable[[], Any], times: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(times):
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return best, result


def _key_before(path: Path, sql: str, position: int) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute(sql, (SURVEY, position - 1)).fetchone()[0])
    finally:
        connection.close()


def paging(count: int = 1_000_000, page: int = 10_000) -> list[Paged]:
    """Both listings on a survey of ``count`` links; ``page`` must lie within it."""
    assert page * LIMIT <= count, "the far page must exist"
    with tempfile.TemporaryDirectory(prefix="bench-paging-") as name:
        path = template(Path(name), count)
        _issue_all(path)
        app = create_app({**{k.removeprefix("PERSONAL_LINKS_"): v for k, v in sidecar_env(path).items()},
                          "TESTING": True})
        results = []
        with app.app_context():
            from plugin.services.admin.api_keys import create_key

            _, key = create_key(db.session, "bench", datetime.now(UTC))
            db.session.commit()
            client = app.test_client()
            skip = (page - 1) * LIMIT
            listings = (
                ("links", f"/api/personal-links/v1/surveys/{SURVEY}/links?total=false&limit={LIMIT}",
                 "SELECT id FROM links WHERE survey_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?", "id"),
                ("non-respondents", f"/api/personal-links/v1/surveys/{SURVEY}/non-respondents?limit={LIMIT}",
                 "SELECT contact_id FROM links WHERE survey_id = ? ORDER BY contact_id LIMIT 1 OFFSET ?", "linkId"),
            )
            for listing, base, key_sql, row_id in listings:
                def get(query: str, base: str = base) -> list[Any]:
                    answer = client.get(f"{base}{query}", headers={"x-api-key": key})
                    assert answer.status_code == 200, answer.data[:300]
                    return list(answer.json["data"])

                first, _ = _best(lambda: get(""))
                far_skip, by_skip = _best(lambda: get(f"&skip={skip}"))
                cursor = _key_before(path, key_sql, skip)
                far_cursor, by_cursor = _best(lambda cursor=cursor: get(f"&after={cursor}"))
                assert [r[row_id] for r in by_cursor] == [r[row_id] for r in by_skip] and len(by_skip) == LIMIT
                results.append(Paged(listing, count, page, first, far_skip, far_cursor))
            db.engine.dispose()
        return results


def describe(result: Paged) -> tuple[str, str, str, str, str, str]:
    """A row of bench/RESULTS.md: the cursor's far page against page 1 (target: within 2x), skip alongside."""
    ms = 1000
    ratio = result.far_cursor / result.first if result.first else 0.0
    return (f"{result.name}, page 1 vs page {result.page:,} of {result.count:,}",
            "cursor page within 2x of page 1",
            f"page 1 {result.first * ms:.1f} ms; page {result.page:,} by cursor {result.far_cursor * ms:.1f} ms",
            f"page {result.page:,} by skip {result.far_skip * ms:.1f} ms", f"{ratio:.2f}",
            "met" if ratio <= 2 else "**not met**")


if __name__ == "__main__":
    import sys

    size, far = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) == 3 else (1_000_000, 10_000)
    for paged in paging(size, far):
        print(" | ".join(describe(paged)))
