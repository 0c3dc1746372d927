"""Reading a Prometheus scrape in tests: samples by name and labels, and sums over labels."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

# The metrics folder of this test process: a process writes its metrics to one folder for its whole life, so every
# test module that turns metrics on uses this one, and it is removed once, when the session ends (conftest).
FOLDER = str(Path(tempfile.gettempdir()) / f"personal-links-test-metrics-{os.getpid()}")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, keyed by its name and sorted labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (sample, found), value in samples.items() if sample == name and wanted <= set(found))
