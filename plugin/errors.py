"""Domain errors of the sidecar's services; the API turns them into the host's v2 error shape."""

from __future__ import annotations

from collections.abc import Sequence

REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
           413: "Payload Too Large", 422: "Unprocessable Entity", 429: "Too Many Requests",
           502: "Bad Gateway", 503: "Service Unavailable"}


class ServiceError(Exception):
    """Base of every error a service raises on purpose; carries an HTTP status and field details."""

    status = 400

    def __init__(self, message: str, details: Sequence[tuple[str, str]] = (), *, headline: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.details = [{"field": field, "issue": issue} for field, issue in details]
        self.headline = headline  # the sentence is error.message too (not only error.detail): a client must read it


class NotFound(ServiceError):
    """Raised when a survey, contact, segment or link named in a request does not exist."""

    status = 404

    def __init__(self, field: str, message: str | None = None) -> None:
        super().__init__(message or f"{field} not found", [(field, "not found")])


class InvalidInput(ServiceError):
    """Raised when a parameter or a file is malformed or out of range (the host answers 422 for these)."""

    status = 422

    def __init__(self, field: str, issue: str) -> None:
        super().__init__(f"{field}: {issue}", [(field, issue)])

    @classmethod
    def of(cls, problems: Sequence[tuple[str, str]], what: str) -> InvalidInput:
        """One error for several problems (rows of a file, entries of a body): each in the details, the first
        few in the message after ``what``."""
        shown = "; ".join(f"{field}: {issue}" for field, issue in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        error = cls(*problems[0])
        ServiceError.__init__(error, f"{what}: {shown}{more}", problems)
        return error


class Conflict(ServiceError):
    """Raised when a request collides with what was already decided: a reminder batch already closed the other
    way, an ``Idempotency-Key`` whose first request is still being answered, a survey's mode (naming a response
    of an anonymous survey; switching to anonymous without the flag that allows erasing attributions)."""

    status = 409

    def __init__(self, field: str, issue: str, message: str | None = None, *, headline: bool = False) -> None:
        super().__init__(message or f"{field}: {issue}", [(field, issue)], headline=headline)


class Refused(ServiceError):
    """Raised when a well-formed request cannot be done in the current state (empty segment, answered)."""

    status = 400

    def __init__(self, field: str, issue: str, message: str | None = None) -> None:
        super().__init__(message or f"{field}: {issue}", [(field, issue)])


def error_body(status: int, message: str, details: list[dict[str, str]] | None = None,
               headline: bool = False) -> dict[str, object]:
    """The host's v2 error shape, with our sentence added as ``error.detail`` (and as ``error.message`` too, in
    place of the reason phrase, for a ``headline`` error)."""
    error: dict[str, object] = {"code": status, "message": message if headline else REASONS.get(status, "Error"),
                                "detail": message}
    if details:
        error["details"] = details
    return {"error": error}
