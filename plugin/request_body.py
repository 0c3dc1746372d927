"""Request bodies sent without a Content-Length (``Transfer-Encoding: chunked``) held to the same limit as the
others: one byte past ``max_content_length`` is a 413.

werkzeug reads such a body up to the limit and then stops quietly, so a view saw the first bytes of a larger
body as the whole of it: the admin API answered 422 "not JSON", the webhook intake 401 "no signature matches"
(counted as a forged delivery). A body with a Content-Length over the limit was already a 413.
"""

from __future__ import annotations

from typing import IO, Any

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream


class BoundedBody(LimitedStream):
    """A stream that lets ``limit`` bytes through and answers 413 as soon as one more arrives."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)  # one more than allowed: a larger body shows itself

    def readinto(self, b: Any) -> int | None:
        """Read as LimitedStream does; 413 once more than the allowed bytes have come."""
        size = super().readinto(b)
        if self.tell() >= self.limit:
            raise RequestEntityTooLarge()
        return size


class SidecarRequest(Request):
    """Flask's request, except that a body without a Content-Length is bounded as one with it is."""

    @cached_property
    def stream(self) -> IO[bytes]:
        """The body stream; when the server ends a chunked body itself (``wsgi.input_terminated``: gunicorn,
        werkzeug), one that answers 413 past ``max_content_length`` (a view may lower it, as the webhook does)."""
        limit = self.max_content_length
        if limit is not None and self.content_length is None and self.environ.get("wsgi.input_terminated"):
            return BoundedBody(self.environ["wsgi.input"], limit)  # type: ignore[return-value]
        return super().stream
