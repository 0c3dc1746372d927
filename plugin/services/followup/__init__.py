"""Follow-up: the funnel, non-respondents, contacts made, reminders and their batches, suppressions."""
