"""Plain functions with explicit inputs (session, clock time, adapter): views, CLI and jobs call these.

One package per domain (``links``, ``contacts``, ``responses``, ``followup``, ``events``, ``anonymity``, ``host``,
``admin``; docs/architecture.md lists their modules); ``text`` and ``set_once`` are shared by all of them (the bulk
paths' driver SQL is database machinery: ``plugin.db.driver_sql``).
"""
