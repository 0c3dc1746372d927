"""Every admin API request and admin page is checked for text no database can store before its view runs.

The path's variables, the query string, form fields and a JSON body: a NUL character or a lone surrogate is a
422 naming the field on the API (the admin pages answer with a 400 page). Webhooks are left to their own
checks, which run after the signature is verified over the raw body.
"""

from __future__ import annotations

import json

from flask import Flask, request

from plugin.services.text import check_pairs, check_text, check_tree

CHECKED = ("/api/", "/admin/")
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def check_request() -> None:
    """Raise UnstorableText (an InvalidInput) for the first unstorable text field of the request."""
    if not request.path.startswith(CHECKED):
        return
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            check_text(_camel(name), value)  # named as the API documents it: survey_id is surveyId
    check_pairs("query", request.args.items(multi=True))
    if request.mimetype in FORMS:
        check_pairs("form", request.form.items(multi=True))
    elif request.method in ("POST", "PUT", "PATCH"):
        raw = request.get_data(cache=True)  # cached: the view reads the same bytes
        if not raw:
            return
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return  # not JSON: the view's own parser says so precisely
        check_tree(body)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def init_app(app: Flask) -> None:
    """Check every request first."""
    app.before_request(check_request)
