"""Plain functions with explicit inputs (session, clock time, adapter): views, CLI and jobs call these."""
