"""A survey's Share page: the Personal Links tab, the funnel, the links, and the last syncs and runs."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, stream_with_context, url_for
from werkzeug.wrappers import Response

from adapters.base import AdapterError
from plugin.clock import iso
from plugin.db import db
from plugin.errors import ServiceError
from plugin.i18n import LANGUAGE_NAMES
from plugin.models import Survey
from plugin.pages import chart
from plugin.pages.guard import admin_required, protect
from plugin.services.admin import runs
from plugin.services.anonymity import anonymity
from plugin.services.anonymity.erasure import erasing_host
from plugin.services.contacts import segments
from plugin.services.followup import followup, funnel
from plugin.services.host import surveys
from plugin.services.host.adapters import survey_host_provider
from plugin.services.links import issuing, links, previews
from plugin.services.links.export import csv_lines
from plugin.state import state

bp = protect(Blueprint("admin_share", __name__, url_prefix="/admin"))
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9_.-]+")
_LABELS = {"expiresOn": "expiry date", "segment": "segment", "segmentId": "segment", "surveyId": "survey"}


@bp.get("/surveys/<survey_id>")
@admin_required
def share_page(survey_id: str) -> tuple[str, int]:
    """The Share page of one survey."""
    survey = links.get_survey(db.session, survey_id)
    return render_share(survey)


@bp.post("/surveys/<survey_id>/links.csv")
@admin_required
def generate(survey_id: str) -> Response | tuple[str, int]:
    """Issue the chosen segment's links and stream the CSV; on failure, the page again with the reason."""
    segment_id = request.form.get("segment", "")
    expires_on = request.form.get("expiresOn", "").strip()
    args = {"expiresOn": expires_on, "renew": request.form.get("renew", ""),
            "reissue": request.form.get("reissue", ""),
            "skipSuppressed": "false" if request.form.get("includeSuppressed") else ""}
    try:
        issued = issuing.issue_segment(db.session, survey_id, segment_id, args, g.now, g.actor,
                                       survey_host_provider(current_app))
    except (ServiceError, AdapterError) as exc:
        db.session.rollback()
        survey = links.get_survey(db.session, survey_id)
        reason, status = (_reason(exc), exc.status) if isinstance(exc, ServiceError) else (exc.message, 502)
        return render_share(survey, error=f"Generation failed: {reason}", status=status,
                            chosen=segment_id, expires_on=expires_on)
    db.session.commit()
    name = _filename(f"personal-links-{issued.survey.id}-{segment_id}")
    return _csv(issued, name)


@bp.get("/surveys/<survey_id>/non-respondents.csv")
@admin_required
def non_respondents(survey_id: str) -> Response:
    """Contacts with a live link and no finished response, as the follow-up API's CSV."""
    survey = links.get_survey(db.session, survey_id)
    query = followup.non_respondents(survey.id, g.now, anonymous=bool(survey.anonymous))
    body = followup.csv_lines(db.session, query, state().link_urls(survey.id), iso)
    filename = _filename(f"non-respondents-{survey.id}")
    return Response(stream_with_context(body), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.post("/links/<int:link_id>/revoke")
@admin_required
def revoke(link_id: int) -> Response:
    """Revoke one link; it stops opening at once."""
    link = links.revoke_link(db.session, link_id, g.now, g.actor)
    db.session.commit()
    flash(f"Link {link.id} is revoked: it no longer opens, and its contact is left out of later downloads of "
          "this survey until you re-issue.")
    return redirect(url_for("admin_share.share_page", survey_id=link.survey_id, _anchor="links"))


@bp.post("/links/<int:link_id>/reissue")
@admin_required
def reissue(link_id: int) -> Response:
    """Give the contact of a revoked link a new link, on purpose (same expiry while it is still ahead)."""
    issued = issuing.reissue_link(db.session, link_id, {}, g.now, g.actor, survey_host_provider(current_app))
    db.session.commit()
    row = next(links.iter_link_rows(db.session, issued.rows))
    flash(f"Link {row.link_id} re-issued to {row.contact_host_id} in place of revoked link {link_id}: "
          f"{state().link_url(row.link_id, row.survey_id)}")
    return redirect(url_for("admin_share.share_page", survey_id=row.survey_id, _anchor="links"))


def render_share(survey: Survey, *, error: str | None = None, status: int = 200, chosen: str = "",
                 expires_on: str = "") -> tuple[str, int]:
    """The Share page, with an error from a failed generation when there is one."""
    now = state().clock.now()
    search = request.args.get("q", "").strip()[:200]
    page = render_template(
        "admin/share.html", survey=survey, warnings=surveys.warnings_for(survey, state().hidden_field),
        segments=segments.public_segments(db.session),
        tomorrow=(now.date() + timedelta(days=1)).isoformat(), funnel=funnel.funnel(db.session, survey.id, now),
        links=funnel.find_links(db.session, survey.id, now, search), search=search,
        runs=runs.recent_runs(db.session), chart=chart.daily_chart(funnel.daily_funnel(db.session, survey.id, now)),
        error=error, chosen=chosen, expires_on=expires_on, preview_states=previews.LABELS, languages=LANGUAGE_NAMES,
        mode=anonymity.mode_of(db.session, survey, erasing_host(survey_host_provider(current_app)()) is not None))
    return page, status


def _reason(exc: ServiceError) -> str:
    """The error's sentence, naming the form's field as the form labels it."""
    field = exc.details[0]["field"] if exc.details else ""
    if field in _LABELS and exc.message.startswith(f"{field}: "):
        return f"{_LABELS[field]}: {exc.message[len(field) + 2:]}"
    return exc.message


def _filename(stem: str) -> str:
    return _UNSAFE_IN_FILENAME.sub("_", stem)[:150] + ".csv"


def _csv(issued: issuing.Issued, filename: str) -> Response:
    body = csv_lines(links.iter_batches(db.session, issued.export), state().link_urls(issued.survey.id))
    # X-Link-Count and the X-Links-* report: the page's script shows progress and the outcome from them
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', **issued.report.headers()}
    return Response(stream_with_context(body), mimetype="text/csv", headers=headers)
