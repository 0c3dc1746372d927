"""The streamed CSV downloads through a real HTTP server, on both databases (PostgreSQL streams through a
server-side cursor, which the test client's in-process reading does not exercise)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
import requests
from flask import Flask

from plugin.db import db
from plugin.services.links import links
from plugin.services.links.params import IssueOptions
from tests.servers import serve_in_thread


@pytest.fixture
def served(app: Flask, seeded: dict[str, object]) -> Iterator[str]:
    survey = links.get_survey(db.session, "survey-1")
    links.issue_links(db.session, survey, links.segment_contacts("alpha"), IssueOptions(), app.extensions[
        "personal_links"].clock.now(), "test")
    db.session.commit()
    with serve_in_thread(app) as url:
        yield url


@pytest.mark.parametrize("path, first_cell", [
    ("/api/personal-links/v1/surveys/survey-1/non-respondents.csv", "Contact ID"),
    ("/api/personal-links/v1/surveys/survey-1/segments/alpha/links.csv", "Formbricks Contact ID"),
])
def test_csv_downloads_stream_over_http(served: str, api_headers: dict[str, str], path: str,
                                        first_cell: str) -> None:
    answer = requests.get(served + path, headers=api_headers, timeout=10)
    assert answer.status_code == 200, answer.text[:300]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][0] == first_cell
    assert sorted(row[0] for row in rows[1:]) == ["c1", "c2", "c3"]
