"""The admin API: the host-compatible contact-links endpoints and the sidecar's own."""
