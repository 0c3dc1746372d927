"""Scheduled work: the jobs, their once-per-period leases, their run records and the scheduler."""
