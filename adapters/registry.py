"""Adapters by name: the configuration names an adapter, this module finds it."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from adapters.base import ConfigurationError

# Dotted paths, imported on first use, so that a host adapter's dependencies load only when it is chosen.
CONTACT_SOURCES: dict[str, str] = {
    "csv": "adapters.csv_file:CsvContactSource",
    "formbricks": "adapters.formbricks:FormbricksAdapter",
}
SURVEY_HOSTS: dict[str, str] = {
    "formbricks": "adapters.formbricks:FormbricksAdapter",
}


def _load(table: Mapping[str, str], kind: str, name: str) -> type[Any]:
    try:
        target = table[name]
    except KeyError:
        known = ", ".join(sorted(table))
        raise ConfigurationError(f"unknown {kind} adapter {name!r}; known: {known}") from None
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]


def contact_source_class(name: str) -> type[Any]:
    """The class of the contact source called ``name``; ConfigurationError when there is none."""
    return _load(CONTACT_SOURCES, "contact source", name)


def survey_host_class(name: str) -> type[Any]:
    """The class of the survey host called ``name``; ConfigurationError when there is none."""
    return _load(SURVEY_HOSTS, "survey host", name)
