"""Responses: the attribution rule (what a finished, started, duplicate, late or early response does to its link)
and its anonymous branch, on the frozen records a delivery is parsed into."""
