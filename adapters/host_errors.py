"""Turn what a host answered (or failed to answer) into an AdapterError whose message says what to do.

Messages never contain the API key or request headers; bodies are quoted in short.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from adapters.base import AdapterError

LICENCE_MARKER = "only enabled for enterprise edition"
PERMISSION_BY_METHOD = {"GET": "read", "HEAD": "read", "POST": "write", "PUT": "write", "PATCH": "write",
                        "DELETE": "manage"}
_MAX_QUOTE = 300


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:_MAX_QUOTE]


def _error_parts(body: Any) -> tuple[str, str]:
    """The (message, details) of a v1 ``{code, message, details}`` or v2 ``{error: {...}}`` body."""
    if not isinstance(body, dict):
        return "", ""
    err: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else body
    message = str(err.get("message") or "")
    details = err.get("details")
    if isinstance(details, list):
        quoted = "; ".join(
            f"{d.get('field')}: {d.get('issue')}" if isinstance(d, dict) else str(d) for d in details
        )
    elif isinstance(details, dict) and details:
        quoted = "; ".join(f"{k}: {v}" for k, v in details.items())
    else:
        quoted = ""
    return message, quoted


def permission_for(method: str) -> str:
    """The key permission a method needs on Formbricks-like hosts (read, write or manage)."""
    return PERMISSION_BY_METHOD.get(method.upper(), "read")


def error_from_response(
    response: requests.Response, *, what: str, host: str = "host", permission: str | None = None
) -> AdapterError:
    """An AdapterError for a non-success answer, carrying status and (parsed) body."""
    status = response.status_code
    body = _body(response)
    message, details = _error_parts(body)
    method = response.request.method if response.request is not None else "GET"
    need = permission or permission_for(method or "GET")
    if status == 401:
        text = (f"{what}: {host} refused the API key (401). It is missing, invalid, or lacks the "
                f"'{need}' permission on this workspace; create a key with '{need}' access.")
    elif status == 403 and LICENCE_MARKER in message.lower():
        text = (f"{what}: {host} has no Enterprise 'Contacts' licence (403), so contacts and segments "
                f"cannot be read from it; load contacts and segments from a CSV file instead.")
    elif status == 403:
        text = f"{what}: {host} forbids this (403): {message or body or 'no reason given'}"
    elif status == 404:
        text = (f"{what}: not found on {host} (404){': ' + details if details else ''}. Check the id and "
                f"that the API URL points at the right {host} instance and version.")
    elif status in (400, 409, 422):
        text = (f"{what}: {host} rejected the request ({status}"
                f"{' ' + message if message else ''}): {details or body or 'no details'}")
    elif status == 429 and "x-envoy-ratelimited" in response.headers:
        text = (f"{what}: a gateway in front of {host} is rate limiting (429) even after retries; "
                "wait a minute, then try again or ask the host's operator to raise the limit.")
    elif status == 429:
        text = (f"{what}: {host} rate limit (100 requests per minute per key) still exceeded after "
                "retries (429); wait a minute and try again, and avoid sharing the key with other tools.")
    elif status >= 500:
        text = f"{what}: {host} failed ({status}) even after retries; try again later. {message}".rstrip()
    else:
        text = f"{what}: unexpected answer {status} from {host}: {message or body}"
    return AdapterError(text, status=status, body=body)


def error_from_exception(
    exc: requests.RequestException, *, what: str, host: str = "host", timeout: float | None = None
) -> AdapterError:
    """An AdapterError for a timeout, a refused connection or exhausted retries."""
    if isinstance(exc, requests.Timeout):
        text = (f"{what}: {host} did not answer within {timeout} s; check that it is up and reachable, "
                "or raise the timeout.")
    elif isinstance(exc, requests.exceptions.RetryError):
        text = f"{what}: {host} kept failing after retries; try again later."
    elif isinstance(exc, requests.ConnectionError):
        text = f"{what}: cannot connect to {host}; check the API URL and the network."
    else:
        text = f"{what}: request to {host} failed: {type(exc).__name__}"
    return AdapterError(text)


def parse_json(response: requests.Response, *, what: str, host: str = "host") -> Any:
    """The response's JSON body; AdapterError when it is not JSON (e.g. a proxy's HTML page)."""
    try:
        return response.json()
    except ValueError:
        snippet = response.text[:120]
        raise AdapterError(
            f"{what}: {host} answered {response.status_code} with a body that is not JSON "
            f"({response.headers.get('content-type', 'no content type')}): {snippet!r}; check the API URL.",
            status=response.status_code, body=response.text[:_MAX_QUOTE],
        ) from None


def unwrap(body: Any, *, what: str, expect: type = object) -> Any:
    """``body["data"]`` of a wrapped answer, checked to be of type ``expect``."""
    if not isinstance(body, dict) or "data" not in body:
        raise AdapterError(f"{what}: answer has no 'data' member: {json.dumps(body)[:_MAX_QUOTE]}", body=body)
    data = body["data"]
    if not isinstance(data, expect):
        got = type(data).__name__
        raise AdapterError(f"{what}: 'data' is a {got}, expected {expect.__name__}", body=body)
    return data
