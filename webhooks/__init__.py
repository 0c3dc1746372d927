"""Webhook intake: verify a host's signed deliveries, then parse them into frozen records."""
