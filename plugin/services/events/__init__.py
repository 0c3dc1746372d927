"""Outbound events: recorded with their change, fanned out, claimed by lease, sent signed, logged."""
