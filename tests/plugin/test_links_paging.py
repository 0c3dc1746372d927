"""A survey's links page by a keyset cursor (``after``, ``meta.nextCursor``) as well as by ``skip``."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.db import db
from plugin.models import Contact, Link, Survey
from plugin.services.links.links import issue_links
from plugin.services.links.params import IssueOptions
from tests.helpers import NOW

LINKS = "/api/personal-links/v1/surveys/survey-1/links"


@pytest.fixture
def issued(seeded: dict[str, Any]) -> list[int]:
    """Links for c1..c4; their ids, newest first (the listing's order)."""
    issue_links(db.session, db.session.get(Survey, "survey-1"), select(Contact.id), IssueOptions(), NOW, "t")
    db.session.commit()
    return list(db.session.scalars(select(Link.id).order_by(Link.id.desc())))


def test_the_cursor_walks_every_link_once_newest_first(client: FlaskClient, api_headers: dict[str, str],
                                                       issued: list[int]) -> None:
    seen, after, pages = [], "", 0
    while True:
        answer = client.get(f"{LINKS}?limit=3&total=false{after}", headers=api_headers)
        assert answer.status_code == 200 and "total" not in answer.json["meta"]
        seen += [row["id"] for row in answer.json["data"]]
        pages += 1
        cursor = answer.json["meta"]["nextCursor"]
        if cursor is None:
            break
        after = f"&after={cursor}"
    assert (seen, pages) == (issued, 2)


def test_skip_still_pages_and_the_total_is_counted_by_default(client: FlaskClient, api_headers: dict[str, str],
                                                              issued: list[int]) -> None:
    answer = client.get(f"{LINKS}?limit=2&skip=1", headers=api_headers).json
    assert [row["id"] for row in answer["data"]] == issued[1:3]
    assert answer["meta"] == {"total": 4, "limit": 2, "offset": 1, "nextCursor": str(issued[2])}


def test_the_cursor_combines_with_the_segment_filter(client: FlaskClient, api_headers: dict[str, str],
                                                     issued: list[int]) -> None:
    first = client.get(f"{LINKS}?segment=beta&limit=1", headers=api_headers).json
    rest = client.get(f"{LINKS}?segment=beta&after={first['meta']['nextCursor']}", headers=api_headers).json
    # newest link first: which of beta's two contacts got the later link id is the issuing's business
    link_of = dict(db.session.execute(select(Contact.host_id, Link.id).join(Link)).all())
    assert [row["contactId"] for row in first["data"] + rest["data"]] == sorted(["c1", "c4"], key=link_of.get,
                                                                              reverse=True)
    assert rest["meta"]["nextCursor"] is None


@pytest.mark.parametrize("query, field", [("after=x", "after"), ("after=-1", "after"),
                                          ("after=99999999999", "after"), ("total=maybe", "total")])
def test_bad_paging_parameters_are_422(client: FlaskClient, api_headers: dict[str, str], issued: list[int],
                                       query: str, field: str) -> None:
    answer = client.get(f"{LINKS}?{query}", headers=api_headers)
    assert answer.status_code == 422 and answer.json["error"]["details"][0]["field"] == field
