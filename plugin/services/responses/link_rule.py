"""What a response through a link counts as, by the link's state at the response's own time.

The state is the one ``/c/`` answers with (``plugin.services.links.link_state.state_of``), asked at the moment
the response finished (or, unfinished, began) instead of now: a link revoked by then rejects it, one expired by
then makes it late, one whose ``validFrom`` was still ahead makes it early. Whether a use is left is not read
here: the set-once ``UPDATE`` that counts the use decides that (attributed, or duplicate).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plugin.services.links.link_state import state_of

_OUTCOME = {"revoked": "rejected", "expired": "late", "pending": "early"}


def outcome_at(link: Any, at: datetime, late_counts: bool) -> str:
    """What a response through ``link`` at ``at`` gives, if a use is left: rejected, late (unless late responses
    count), early or attributed. ``link`` has ``revoked_at``, ``expires_at`` and ``valid_from``."""
    revoked = link.revoked_at if link.revoked_at is not None and link.revoked_at <= at else None
    state = state_of(revoked, 0, 1, link.expires_at, link.valid_from, at)  # a use left: see the module's note
    if state == "expired" and late_counts:
        return "attributed"
    return _OUTCOME.get(state, "attributed")
