"""The README is an entrance and docs/ the manual: the README opens with the two commands, and every relative link
(and anchor) in the README and docs/*.md, and every `docs/...` path they name, leads to something that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCED = re.compile(r"^```.*?^```", flags=re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
NAMED_PATH = re.compile(r"`(docs/[^`\s]+)`")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", flags=re.I)


def prose(text: str) -> str:
    """The text without its fenced code blocks (shell comments there are not headings, brackets not links)."""
    return FENCED.sub("", text)


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", prose(page.read_text()), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:  # a repeated heading gets -1, -2, ...
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def broken_links(page: Path) -> list[str]:
    """The relative links of ``page`` whose file, or whose anchor in that file, does not exist."""
    broken = []
    for target in LINK.findall(CODE_SPAN.sub("", prose(page.read_text()))):
        if EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(target)
    return broken


def test_the_readme_still_opens_with_make_run_and_make_test() -> None:
    text = (ROOT / "README.md").read_text()
    first_block = text.split("```\n", 2)[1]
    assert [line.split("#")[0].strip() for line in first_block.splitlines()] == ["make run", "make test"]


def test_the_readme_is_an_entrance_that_links_every_docs_page() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 130
    linked = {target.split("#")[0] for target in LINK.findall(text)}
    assert [page.name for page in PAGES[1:] if f"docs/{page.name}" not in linked] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_anchor_that_exist(page: Path) -> None:
    assert broken_links(page) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_docs_path_a_page_names_exists(page: Path) -> None:
    """Text moved between pages keeps naming files by their path from the checkout's root (`docs/nginx.conf`)."""
    named = NAMED_PATH.findall(page.read_text())
    assert [path for path in named if not (ROOT / path.split("#")[0]).exists()] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_no_sentence_is_only_a_file_name(page: Path) -> None:
    """A sentence such as "`docs/webhooks.md`." alone, left over from an edit, says nothing."""
    text = " ".join(page.read_text().split())
    assert re.findall(r"\. `[\w./-]+`\. ", text) == []
