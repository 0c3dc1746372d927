"""Helpers of the webhook tests: the test secret, signed deliveries shaped like the host's, link tokens."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from plugin.state import state
from tests.helpers import NOW
from webhooks.signature import sign

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode("ascii")
SURVEY_ID = "survey-1"
OTHER_SURVEY_ID = "survey-2"


def token_of(link_id: int, survey_id: str = SURVEY_ID) -> str:
    """The token of a link, as its personal URL carries it."""
    return state().tokens.make(link_id, survey_id)


def response_body(event: str, response_id: str, token: str | None, *, finished: bool, created: datetime = NOW,
                  updated: datetime | None = None, survey_id: str = SURVEY_ID, in_url: bool = False) -> bytes:
    """A delivery shaped like the captured ones; the token in the hidden field, or only in ``meta.url``."""
    stamp = lambda at: at.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
    data: dict[str, Any] = {"q1": "an answer"}
    url = f"https://forms.example.com/s/{survey_id}"
    if token is not None and in_url:
        url += f"?plink={token}"
    elif token is not None:
        data["plink"] = token
    return json.dumps({"webhookId": "hook-1", "event": event, "data": {
        "id": response_id, "createdAt": stamp(created), "updatedAt": stamp(updated or created),
        "surveyId": survey_id, "contact": None, "finished": finished, "data": data,
        "meta": {"url": url}, "singleUseId": None}}).encode("utf-8")


def signed(body: bytes, webhook_id: str | None = None, at: datetime = NOW, secret: str = SECRET) -> dict[str, str]:
    """Standard Webhooks headers for a body, as the host signs it."""
    webhook_id = webhook_id or "msg_" + hashlib.sha256(body).hexdigest()[:24]
    timestamp = int(at.timestamp())
    return {"content-type": "application/json", "webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(webhook_id, timestamp, body, secret)}
