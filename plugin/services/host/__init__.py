"""The survey host: the configured adapters, surveys, sync, install, reconciliation and host check."""
