"""The frozen records of a response delivery, as the attribution rule takes them: the webhook's parser
(``webhooks.payload``) and the reconcile job (from the host's listing) both make them; and where in one the
link's token is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """The parts of a host response the sidecar uses; ``data`` holds answers and hidden fields by id."""

    id: str
    survey_id: str
    finished: bool
    created_at: datetime
    updated_at: datetime
    contact_id: str | None
    data: Mapping[str, Any]
    meta_url: str | None
    single_use_id: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One response event; ``webhook_config_id`` is the host's webhook (the body's ``webhookId``)."""

    event: str
    webhook_config_id: str
    response: ResponseRecord


def extract_token(response: ResponseRecord, field_id: str) -> str | None:
    """Our link token: the hidden field ``field_id`` in ``data``, else that parameter of ``meta_url``."""
    # The host decodes hidden fields by ordinary query rules ('+' becomes a space, '%2B' a plus), and
    # parse_qs below does the same. Our tokens use only [A-Za-z0-9._-], so both ways they arrive unchanged.
    value = response.data.get(field_id)
    if isinstance(value, str) and value:
        return value
    if response.meta_url is None:
        return None
    try:
        query = urlsplit(response.meta_url).query
    except ValueError:  # e.g. an unbalanced '[' in the host part; such a URL carries no token we can trust
        return None
    values = parse_qs(query).get(field_id)
    return values[0] if values else None
