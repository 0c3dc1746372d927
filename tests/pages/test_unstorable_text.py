"""Admin page forms and query strings with a NUL character: a 400 page naming the field, nothing done."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.db import db
from plugin.models import Link
from tests.pages.support import csrf_of


def test_a_nul_in_a_form_field_is_a_400_page_naming_it(admin: FlaskClient, seeded: None) -> None:
    token = csrf_of(admin.get("/admin/surveys/survey-1").get_data(as_text=True))
    response = admin.post("/admin/surveys/survey-1/links.csv", data={"segment": "al\x00pha", "csrf_token": token})
    assert response.status_code == 400 and response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "Input refused" in text and "segment: holds a NUL character" in text
    assert db.session.scalar(select(func.count()).select_from(Link)) == 0


def test_a_nul_in_the_sign_in_form_is_a_400_page(client: FlaskClient, api_key: str) -> None:
    token = csrf_of(client.get("/admin/sign-in").get_data(as_text=True))
    response = client.post("/admin/sign-in", data={"api_key": api_key + "\x00", "csrf_token": token})
    assert response.status_code == 400
    assert "api_key: holds a NUL character" in response.get_data(as_text=True)


def test_a_nul_in_a_page_query_is_a_400_page(admin: FlaskClient, seeded: None) -> None:
    response = admin.get("/admin/surveys/survey-1?q=a%00")
    assert response.status_code == 400 and "q: holds a NUL character" in response.get_data(as_text=True)
