"""Reading a request's JSON body strictly: an object or a precise 422, never a parser's crash."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from plugin.errors import InvalidInput


def json_object(what: str) -> dict[str, Any]:
    """The body as a JSON object; InvalidInput naming ``what`` is expected otherwise.

    Parsed here rather than with ``get_json(silent=True)``: that one lets a deeply nested body's
    RecursionError through (a 500).
    """
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidInput("body", f"not JSON: {what} is required") from None
    if not isinstance(body, dict):
        raise InvalidInput("body", f"{what} is required")
    return body
