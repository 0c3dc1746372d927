"""What respondents see: ``GET /c/<token>`` sends a live link to the survey, anything else to a clear page."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, send_from_directory
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers import Response

from plugin import demo
from plugin.db import db
from plugin.headers import HTML, harden, prefers_json
from plugin.i18n import pick_language
from plugin.respondent import PAGES, render_state, texts
from plugin.services.links.opening import Opened, open_link
from plugin.services.responses.attribution import Intake
from plugin.state import state

bp = Blueprint("public", __name__)


@bp.after_app_request
def no_referrer(response: Response) -> Response:
    """Tokens are in URLs: never leak them to another site through the Referer header."""
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/c/<path:token>", methods=["GET", "HEAD"])
@bp.route("/c/", methods=["GET", "HEAD"], defaults={"token": ""}, strict_slashes=False)
def open_personal_link(token: str) -> Response:
    """Open a personal link; HEAD answers the same and changes nothing (mail scanners probe links). A link a mail
    client cut before its token (``/c/``, ``/c``) is an invalid one: the same page, in the respondent's language."""
    plugin = state()
    with db.engine.connect() as connection:  # a connection, not the session: a click needs no ORM state
        outcome = open_link(connection, plugin.tokens, token, plugin.clock.now(), plugin.hidden_field,
                            tickets=plugin.tickets, record=request.method == "GET", opens=plugin.opens)
        connection.commit()  # what it wrote, if anything (an anonymous link's ticket; opens not queued)
    if outcome.state == "live" and outcome.target:
        return _found(outcome.target)
    response = page(outcome)
    response.headers["Cache-Control"] = "no-store"
    return response


def _found(target: str) -> Response:
    """The 302 to a survey: what ``redirect`` answers, without its HTML body (no browser shows it). werkzeug
    escapes the Location as it sends it; a control character, which the header would refuse, is escaped here."""
    location = target if target.isprintable() else iri_to_uri(target)
    return Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def page(outcome: Opened) -> Response:
    """The human page (or JSON, when asked for) of a link that does not open, in the respondent's language."""
    language = pick_language(outcome.language)
    moment = outcome.valid_from if outcome.state == "pending" else outcome.expires_at
    if prefers_json():
        title, sentence = texts(outcome.state, moment, language)
        body = {"state": outcome.state, "title": title, "message": sentence, "language": language}
        if outcome.expires_at and outcome.state == "expired":
            body["expiredAt"] = outcome.expires_at.isoformat()
        if outcome.valid_from and outcome.state == "pending":
            body["validFrom"] = outcome.valid_from.isoformat()
        response: Response = jsonify(body)
        response.status_code = PAGES[outcome.state].status
        return response
    html, status = render_state(outcome.state, moment, language, outcome.survey_name)
    return harden(Response(html, status=status, content_type=HTML, headers={"Content-Language": language}))


@bp.route("/demo/s/<survey_id>", methods=["GET", "POST"])
def demo_survey(survey_id: str) -> Response | tuple[str, int]:
    """Demo mode only: stands in for the host's survey page so a demo link lands somewhere real; its form sends
    a finished response, which the sidecar applies as it applies the host's ``responseFinished`` webhook."""
    if not current_app.config["DEMO"]:
        return "Not Found", 404
    plugin = state()
    source = request.form if request.method == "POST" else request.args
    token = source.get(plugin.hidden_field, "")[:512]
    outcome = None
    if request.method == "POST":
        rules = Intake.from_settings(plugin.tokens, plugin.hidden_field, plugin.tickets, current_app.config)
        outcome = demo.answer(survey_id, token, plugin.clock.now(), rules)
        db.session.commit()
    html = render_template("respondent/demo_survey.html", survey_id=survey_id, token=token,
                           field=plugin.hidden_field, lang="en", outcome=outcome)
    return harden(Response(html, content_type=HTML))


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The sidecar's icon, for browsers that ask for it at the conventional path."""
    return send_from_directory(current_app.static_folder or "static", "favicon.ico", mimetype="image/x-icon",
                               max_age=86400)
