"""Administration: API keys, the authentication throttle, idempotency keys, runs and purges."""
