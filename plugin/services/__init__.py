"""Plain functions with explicit inputs (session, clock time, adapter): views, CLI and jobs call these.

One package per domain (``links``, ``contacts``, ``followup``, ``events``, ``anonymity``, ``host``, ``admin``;
docs/architecture.md lists their modules); ``driver_sql`` and ``text`` are shared by all of them.
"""
