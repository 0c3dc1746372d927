"""The pages a respondent meets: each link state's status and text, in the respondent's language.

The texts live in the translation catalogue (``plugin/translations``), not here: these are its message ids.
The Share page's previews render through the same functions, so what the admin sees is what respondents get.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, render_template
from flask_babel import LazyString, force_locale, format_date, format_time, gettext
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True, slots=True)
class StatePage:
    """What a link in one state answers: the status, a title, a sentence, and the sentence naming the moment
    (``%(date)s``, ``%(time)s``) for states that have one."""

    status: int
    title: LazyString
    sentence: LazyString
    dated: LazyString | None = None


PAGES: dict[str, StatePage] = {
    "invalid": StatePage(404, _l("This link is not valid"), _l("Check that you copied the whole link.")),
    "expired": StatePage(410, _l("This link has expired"), _l("It is no longer open."),
                         _l("It ended on %(date)s at %(time)s UTC.")),
    "used": StatePage(410, _l("This survey has already been answered"), _l("Thank you: your answer was received.")),
    "revoked": StatePage(410, _l("This link has been withdrawn"), _l("Ask whoever sent it for a new one.")),
    "pending": StatePage(403, _l("This link is not open yet"), _l("It opens later."),
                         _l("It opens on %(date)s at %(time)s UTC.")),
}
STATES = tuple(PAGES)

# What the page is about, above its title: the survey and, when SENDER_NAME is set, who sent it.
SURVEY_FROM = _l("Survey “%(survey)s” from %(sender)s")
SURVEY = _l("Survey “%(survey)s”")
LINKS_OF = _l("Survey links of %(sender)s")  # no survey to name: the invalid page, the 503 page
NO_SURVEY = _l("No survey is known for this link, so this page cannot say which survey it was for.")


def about(survey_name: str | None) -> str | None:
    """The line naming the page's survey and its sender (call it in the page's locale); None when neither is known.

    Said in words, not left to the layout, so a person who opens an old link knows what it was about.
    """
    sender = current_app.config["SENDER_NAME"]
    if survey_name:
        return str(SURVEY_FROM if sender else SURVEY) % {"survey": survey_name, "sender": sender}
    return str(LINKS_OF) % {"sender": sender} if sender else None


def texts(state: str, moment: datetime | None, language: str) -> tuple[str, str]:
    """The title and sentence of a state's page in ``language``; ``moment`` is when it ended or opens."""
    page = PAGES[state]
    with force_locale(language):
        if moment is None or page.dated is None:
            sentence = str(page.sentence)
        else:
            sentence = str(page.dated) % {"date": format_date(moment, "long"), "time": format_time(moment, "short")}
        return str(page.title), sentence


def render_state(state: str, moment: datetime | None, language: str, survey_name: str | None = None,
                 **preview: Any) -> tuple[str, int]:
    """A state's HTML page and its status; ``survey_name`` is the link's survey (None for an invalid link)."""
    title, sentence = texts(state, moment, language)
    with force_locale(language):
        html = render_template("respondent/state.html", title=title, sentence=sentence, lang=language,
                               survey_name=survey_name, about=about(survey_name),
                               no_survey=str(NO_SURVEY) if state == "invalid" else None, **preview)
    return html, PAGES[state].status


def render_live(target: str, language: str, survey_name: str, **preview: Any) -> str:
    """What a live link does, as a page: the respondent is sent on to ``target`` (the Share page's preview)."""
    with force_locale(language):
        return render_template("respondent/live.html", target=target, lang=language, survey_name=survey_name,
                               about=about(survey_name), **preview)


def render_unavailable(language: str) -> str:
    """The page a browser gets while the database is down (503): the survey cannot be read, the sender is known."""
    with force_locale(language):
        return render_template("respondent/unavailable.html", title=gettext("Please try again shortly"),
                               lang=language, about=about(None))
