"""The respondent pages' catalogue: every text is extracted, translated in each shipped language, and the
committed ``.mo`` files say what their ``.po`` files say (run ``make translations`` after changing a text)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from plugin.i18n import DEFAULT_LANGUAGE, LANGUAGES, TRANSLATIONS

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
OTHERS = [language for language in LANGUAGES if language != DEFAULT_LANGUAGE]


def source_texts() -> set[str]:
    """The message ids marked in the code and templates, as ``make translations`` extracts them."""
    method_map = [("plugin/**.py", "python"), ("plugin/templates/**.html", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    return {message for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, keywords=keywords)
            if isinstance(message, str)}


def catalogue(language: str) -> dict[str, str]:
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def test_the_template_lists_every_text_of_the_code() -> None:
    with open(TRANSLATIONS / "messages.pot", "rb") as handle:
        listed = {str(m.id) for m in read_po(handle) if m.id}
    assert listed == source_texts()


@pytest.mark.parametrize("language", OTHERS)
def test_every_text_is_translated(language: str) -> None:
    translated = catalogue(language)
    assert set(translated) == source_texts()
    assert all(translated.values()), [msgid for msgid, text in translated.items() if not text]
    for msgid, text in translated.items():  # placeholders survive translation
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid


@pytest.mark.parametrize("language", OTHERS)
def test_the_compiled_catalogue_matches_its_po(language: str) -> None:
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, text in catalogue(language).items():
        assert compiled.gettext(msgid) == text, msgid


def test_the_package_ships_the_catalogue() -> None:
    """pyproject's package-data takes every catalogue file, so an installed sidecar speaks every language."""
    import fnmatch
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["plugin"]
    files = [path.relative_to(ROOT / "plugin").as_posix() for path in TRANSLATIONS.rglob("*") if path.is_file()]
    assert any(name.endswith(".mo") for name in files)
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name
