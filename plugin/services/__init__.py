"""Plain functions with explicit inputs (session, clock time, adapter): views, CLI and jobs call these.

One package per domain (``links``, ``contacts``, ``responses``, ``followup``, ``events``, ``anonymity``, ``host``,
``admin``; docs/architecture.md lists their modules); ``driver_sql``, ``text`` and ``set_once`` are shared by all
of them.
"""
