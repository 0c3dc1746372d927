"""Contacts and segments: imports from a file or the host, local segments, listings of people."""
