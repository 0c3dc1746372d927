"""Previews of what a survey's respondents see, in each state and shipped language, from the Share page."""

from __future__ import annotations

from flask import Blueprint, g, request, url_for

from plugin.db import db
from plugin.errors import NotFound
from plugin.i18n import LANGUAGES
from plugin.pages.guard import admin_required, protect
from plugin.respondent import render_live, render_state
from plugin.services.links import links, previews
from plugin.state import state

bp = protect(Blueprint("admin_preview", __name__, url_prefix="/admin"))


@bp.get("/surveys/<survey_id>/preview/<link_state>")
@admin_required
def preview(survey_id: str, link_state: str) -> tuple[str, int]:
    """The page a respondent meets for a link in ``link_state`` (``?lang=``), rendered by the same templates.

    Reads the survey only: a preview records no open and changes nothing.
    """
    language = request.args.get("lang", LANGUAGES[0])
    if language not in LANGUAGES:
        raise NotFound("lang", f"no preview in {language[:20]!r}: choose one of {', '.join(LANGUAGES)}")
    previews.check_state(link_state)
    survey = links.get_survey(db.session, survey_id)
    banner = {"preview_of": previews.LABELS[link_state], "preview_survey": survey.name,
              "preview_back": url_for("admin_share.share_page", survey_id=survey.id, _anchor="previews")}
    if link_state == "live":
        return render_live(previews.sample_target(survey, state().hidden_field), language, survey.name,
                           **banner), 200
    named = None if link_state == "invalid" else survey.name  # an invalid link names no survey
    html, _ = render_state(link_state, previews.sample_moment(link_state, g.now), language, named, **banner)
    return html, 200
