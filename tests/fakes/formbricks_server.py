"""A fake Formbricks management API for end-to-end tests, following /work/shared/formbricks-host.md.

Usage::

    state = FakeFormbricksState()
    state.add_contact("ct_1", userId="u1", email="a@example.org")
    app = create_fake_formbricks(state, version="5")
    with run_fake_formbricks(app) as base_url:
        adapter = FormbricksAdapter(base_url, state.api_key, state.workspace_id)

What it mimics: ``x-api-key`` (or ``Authorization: Bearer``) auth with 401 on a wrong key; the v1 ``{code,
message, details}`` and v2 ``{error: {code, message, details}}`` error shapes; the Enterprise licence 403 on
contacts, attributes and contact links when ``licensed=False``; a 429 without Retry-After after ``rate_limit``
requests in a minute; the unwrapped ``/api/v1/management/me``; v1 contacts, attributes, attribute keys,
surveys (limit/offset), singleUseIds, webhooks and responses; v2 webhooks (201 with ``secret``), responses
(without meta unless ``state.responses_meta``), one response's GET and its merging PUT (recorded in
``state.response_updates``) and contact-links per segment, which drops contacts in
``state.link_failures`` and so returns short pages; ``/api/v2/me`` (the key's ``state.permission``, which the
gate enforces: read for GET, write for POST/PUT, manage for DELETE, 401 when too weak) and ``/api/v2/health``.
The two whole listings (contacts, attribute values) are serialised once per state they show (``warm_listings``
does it ahead of a benchmark). ``version`` "4" or "5" picks an entry of ``tests/fakes/formbricks_versions.py``,
the one description of how the two differ (id spellings, ``/me`` shape, permission lists, what singleUseIds
checks).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from tests.fakes import formbricks_responses  # noqa: F401  (its routes join the blueprint)
from tests.fakes.formbricks_routes import bp, error, warm_listings
from tests.fakes.formbricks_state import FakeFormbricksState
from tests.fakes.formbricks_versions import FAKE_VERSIONS
from tests.servers import serve_in_thread

__all__ = ["FakeFormbricksState", "create_fake_formbricks", "run_fake_formbricks", "warm_listings"]


def create_fake_formbricks(
    state: FakeFormbricksState | None = None,
    *,
    version: str = "5",
    rate_limit: int = 100,
    licensed: bool = True,
) -> Flask:
    """A Flask app that answers like a Formbricks host of ``version`` "4" or "5"; ``app.config['STATE']``."""
    if version not in FAKE_VERSIONS:
        raise ValueError(f"version must be one of {sorted(FAKE_VERSIONS)}")
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # as the host answers; and big listings stay cheap
    state = state or FakeFormbricksState()
    app.extensions["fake_formbricks"] = {"state": state, "version": FAKE_VERSIONS[version], "rate_limit": rate_limit,
                                         "licensed": licensed, "window": deque(),
                                         "listings": {}}
    app.config["STATE"] = state
    app.register_blueprint(bp)

    @app.errorhandler(404)
    def _not_found(_: Exception) -> Any:
        return error(404, "Not found")

    return app


@contextmanager
def run_fake_formbricks(app: Flask) -> Iterator[str]:
    """Serve the fake host on 127.0.0.1 (a free port) in a thread; yields the base URL and shuts down after."""
    with serve_in_thread(app) as url:
        yield url
