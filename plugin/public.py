"""What respondents see: ``GET /c/<token>`` sends a live link to the survey, anything else to a clear page."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response

from plugin.db import db
from plugin.services.opening import Opened, open_link
from plugin.state import state

bp = Blueprint("public", __name__)

PAGES = {
    "invalid": (404, "This link is not valid", "Check that you copied the whole link."),
    "expired": (410, "This link has expired", "It ended on {end}."),
    "used": (410, "This survey has already been answered", "Thank you: your answer was received."),
    "revoked": (410, "This link has been withdrawn", "Ask whoever sent it for a new one."),
    "pending": (403, "This link is not open yet", "It opens on {start}."),
}


@bp.after_app_request
def no_referrer(response: Response) -> Response:
    """Tokens are in URLs: never leak them to another site through the Referer header."""
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/c/<path:token>", methods=["GET", "HEAD"])
def open_personal_link(token: str) -> Response:
    """Open a personal link; HEAD answers the same and changes nothing (mail scanners probe links)."""
    plugin = state()
    outcome = open_link(db.session, plugin.tokens, token, plugin.clock.now(), plugin.hidden_field,
                        record=request.method == "GET")
    db.session.commit()
    if outcome.state == "live" and outcome.target:
        response = redirect(outcome.target, code=302)
    else:
        response = page(outcome)
    response.headers["Cache-Control"] = "no-store"
    return response


def page(outcome: Opened) -> Response:
    """The human page (or JSON, when asked for) of a link that does not open."""
    status, title, sentence = PAGES[outcome.state]
    end = outcome.expires_at.strftime("%Y-%m-%d %H:%M UTC") if outcome.expires_at else ""
    start = outcome.valid_from.strftime("%Y-%m-%d %H:%M UTC") if outcome.valid_from else ""
    sentence = sentence.format(end=end, start=start)
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        body = {"state": outcome.state, "title": title, "message": sentence}
        if outcome.expires_at and outcome.state == "expired":
            body["expiredAt"] = outcome.expires_at.isoformat()
        if outcome.valid_from and outcome.state == "pending":
            body["validFrom"] = outcome.valid_from.isoformat()
        response: Response = jsonify(body)
    else:
        response = Response(render_template("link_state.html", title=title, sentence=sentence))
    response.status_code = status
    return response


@bp.get("/demo/s/<survey_id>")
def demo_survey(survey_id: str) -> Response | tuple[str, int]:
    """Demo mode only: stands in for the host's survey page so a demo link lands somewhere real."""
    if not current_app.config["DEMO"]:
        return "Not Found", 404
    token = request.args.get(state().hidden_field, "")
    return Response(render_template("demo_survey.html", survey_id=survey_id, token=token,
                                    field=state().hidden_field))
