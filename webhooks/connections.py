"""The intake's own PostgreSQL connections: made with its time limits, so a delivery pays no round trip for them.

A delivery's statements may wait on locks at most ``limit_ms`` (two such waits keep the answer inside the
host's 5 s). Set per transaction (``webhooks.store.limit_waits``) that is one round trip more on every
delivery (measured: about a tenth of its cost, bench/RESULTS.md); set on the app's connections it would cut
a long CSV download or import short. So the intake draws on a pool of its own, whose connections are made
with ``lock_timeout`` and ``statement_timeout`` in their startup options (beside any ``options`` the database
URL gives, such as a ``search_path``). Each server process holds up to the app's pool size again for it
(SQLAlchemy's default, 5 and 10 more in a burst). SQLite needs none of this: its busy timeout is set in
the process, at no cost (``plugin.db.change_busy_timeout``).
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

from plugin.db import pool_ping

KEY = "personal_links_intake_engine"


def init_app(app: Flask, limit_ms: int) -> None:
    """Make the intake's engine when the database is PostgreSQL (it connects at first use)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        return
    given = url.query.get("options") or ()  # a string, or a tuple when the URL repeats it
    limits = f"-c lock_timeout={int(limit_ms)} -c statement_timeout={int(limit_ms)}"
    options = " ".join([*([given] if isinstance(given, str) else given), limits])
    engine = create_engine(url.update_query_dict({"options": options}),
                           **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    pool_ping.watch(engine)
    app.extensions[KEY] = engine


def engine_of(app: Flask) -> Engine | None:
    """The intake's engine; None on SQLite (the intake uses the app's session)."""
    return app.extensions.get(KEY)


def dispose(app: Flask) -> None:
    """Close the intake's pooled connections (the app's own are closed by ``db.engine.dispose()``)."""
    engine = engine_of(app)
    if engine is not None:
        engine.dispose()
