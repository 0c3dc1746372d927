"""Deliveries refused as not authentic, logged as a summary: a flood of forged deliveries is a line a minute.

The first refusal after a quiet interval is logged at once with its reason; the ones after it within
``LOG_SECONDS`` are counted by reason and logged as one line by the first refusal after the interval (so counts
of a flood's tail wait for the next refusal: the metric ``personal_links_webhook_signature_failures_total``
has every one at once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

log = logging.getLogger("webhooks.receiver")  # where the line per refusal was, for those who search for it
LOG_SECONDS = 60.0


class Rejections:
    """This process's refusals since its last line, by reason."""

    def __init__(self) -> None:
        self.logged_at = float("-inf")  # monotonic time of the last line
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def note(self, reason: str, message: str) -> None:
        """Count a refusal; log it, or the summary of those since the last line, once an interval has passed."""
        with self._lock:
            self._counts[reason] += 1
            now = time.monotonic()
            if now - self.logged_at < LOG_SECONDS:
                return
            counts, self._counts = self._counts, Counter()
            since, self.logged_at = now - self.logged_at, now
        total = sum(counts.values())
        if total == 1:
            log.warning("webhook delivery rejected (%s): %s; more in the next %d s are counted and logged as one "
                        "line", reason, message, LOG_SECONDS)
            return
        by_reason = ", ".join(f"{count} {name}" for name, count in counts.most_common())
        log.warning("%d webhook deliveries rejected as not authentic in the last %.0f s: %s; the last: %s", total,
                    since, by_reason, message)
