"""The admin pages' session: Flask's signed cookie, read only when the request brings one.

Flask builds the cookie's signer for every request, a click included; a request without the cookie (every
respondent, every API call, every webhook) gets the same empty session without that work.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    """``SecureCookieSessionInterface``, except that no cookie means an empty session at once."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The signed session of the request's cookie, or a new empty one when it sends none."""
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()  # what Flask answers for a missing cookie, minus building the signer
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Use ``CookieSessions`` for the app's sessions."""
    app.session_interface = CookieSessions()
