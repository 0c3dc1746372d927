"""Reading a request's JSON body strictly: an object or a precise 422, never a parser's crash."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from plugin.errors import InvalidInput
from webhooks.payload import DuplicateKeyError, object_without_duplicates


def json_object(what: str) -> dict[str, Any]:
    """The body as a JSON object; InvalidInput naming ``what`` is expected otherwise, or naming a key given
    twice in one object (the webhook intake's rule: which of the two values counts is anyone's guess).

    Parsed here rather than with ``get_json(silent=True)``: that one lets a deeply nested body's
    RecursionError through (a 500).
    """
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw, object_pairs_hook=object_without_duplicates)
    except DuplicateKeyError as exc:
        raise InvalidInput("body", f"the key {exc.key[:64]!r} is given twice in one object") from None
    except (ValueError, RecursionError):
        raise InvalidInput("body", f"not JSON: {what} is required") from None
    if not isinstance(body, dict):
        raise InvalidInput("body", f"{what} is required")
    return body
