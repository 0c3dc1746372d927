"""The pages a respondent meets: each link state's status and text, in the respondent's language.

The texts live in the translation catalogue (``plugin/translations``), not here: these are its message ids.
The Share page's previews render through the same functions, so what the admin sees is what respondents get.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import render_template
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


def texts(state: str, moment: datetime | None, language: str) -> tuple[str, str]:
    """The title and sentence of a state's page in ``language``; ``moment`` is when it ended or opens."""
    page = PAGES[state]
    with force_locale(language):
        if moment is None or page.dated is None:
            sentence = str(page.sentence)
        else:
            sentence = str(page.dated) % {"date": format_date(moment, "long"), "time": format_time(moment, "short")}
        return str(page.title), sentence


def render_state(state: str, moment: datetime | None, language: str, **preview: Any) -> tuple[str, int]:
    """A state's HTML page and its status."""
    title, sentence = texts(state, moment, language)
    with force_locale(language):
        html = render_template("respondent/state.html", title=title, sentence=sentence, lang=language, **preview)
    return html, PAGES[state].status


def render_live(target: str, language: str, **preview: Any) -> str:
    """What a live link does, as a page: the respondent is sent on to ``target`` (the Share page's preview)."""
    with force_locale(language):
        return render_template("respondent/live.html", target=target, lang=language, **preview)


def render_unavailable(language: str) -> str:
    """The page a browser gets while the database is down (503)."""
    with force_locale(language):
        return render_template("respondent/unavailable.html", title=gettext("Please try again shortly"),
                               lang=language)
