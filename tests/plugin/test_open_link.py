"""Opening ``/c/<token>``: a live link redirects with its token; every other state gets its page and status."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.db import db
from plugin.models import AuditEvent, Link, Survey
from plugin.services.links.opening import with_hidden_field
from plugin.state import state

BASE = "/api/v2/management/surveys/survey-1/contact-links/contacts/"


def issue(client: FlaskClient, headers: dict[str, str], contact: str = "c1", **params: str) -> tuple[str, int]:
    data = client.get(BASE + contact, headers=headers, query_string=params).get_json()["data"]
    return urlsplit(data["surveyUrl"]).path, data["linkId"]


def text_of(response) -> str:
    """The body with Babel's narrow no-break spaces (as in "12:00 AM") as plain spaces."""
    return response.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")


def test_live_link_redirects_with_the_token_and_records_the_open(client, seeded, api_headers, clock) -> None:
    path, link_id = issue(client, api_headers)
    response = client.get(path)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "forms.example.com", "/s/survey-1")
    assert parse_qs(target.query) == {"plink": [path.rsplit("/", 1)[1]]}
    assert response.headers["Referrer-Policy"] == "no-referrer"
    clock.advance(minutes=5)
    client.get(path)
    link = db.session.get(Link, link_id)
    db.session.refresh(link)
    assert link.open_count == 2 and link.use_count == 0  # opening never consumes
    assert link.first_opened_at < link.last_opened_at
    opened = db.session.scalars(select(AuditEvent.action).where(AuditEvent.link_id == link_id)).all()
    assert opened.count("opened") == 2


def test_head_changes_nothing(client, seeded, api_headers) -> None:
    path, link_id = issue(client, api_headers)
    assert client.head(path).status_code == 302
    assert db.session.get(Link, link_id).open_count == 0


def test_target_comes_from_stored_settings_only(client, seeded, api_headers) -> None:
    survey = db.session.get(Survey, "survey-1")
    survey.public_url = "https://forms.example.com/s/survey-1?lang=de&plink=stale"
    db.session.commit()
    path, _ = issue(client, api_headers)
    response = client.get(path + "?next=https://evil.example", headers={"Host": "evil.example"})
    target = urlsplit(response.headers["Location"])
    assert target.netloc == "forms.example.com"
    assert parse_qs(target.query) == {"lang": ["de"], "plink": [path.rsplit("/", 1)[1]]}


@pytest.mark.parametrize("forged", ["nope", "1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "%00", "a" * 3000])
def test_invalid_tokens_get_404(client, seeded, forged) -> None:
    response = client.get("/c/" + forged)
    assert response.status_code == 404
    assert "This link is not valid" in response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_token_of_a_changed_byte_gets_404(client, seeded, api_headers) -> None:
    path, _ = issue(client, api_headers)
    forged = path[:-1] + ("A" if path[-1] != "A" else "B")
    assert client.get(forged).status_code == 404


def test_token_moved_to_another_survey_gets_404(client, seeded, api_headers) -> None:
    path, link_id = issue(client, api_headers)
    db.session.add(Survey(id="survey-2", name="Two", public_url="https://f.example/s/2", hidden_field_ids=["plink"],
                          created_at=state().clock.now(), updated_at=state().clock.now()))
    db.session.commit()
    other = state().tokens.make(link_id, "survey-2")
    assert client.get("/c/" + other).status_code == 404


def test_expired_link_gets_410_with_its_end(client, seeded, api_headers, clock) -> None:
    path, _ = issue(client, api_headers, expiresOn="2026-11-29")
    clock.advance(hours=36)  # 2026-11-30 00:00 UTC: the first moment after the chosen day
    response = client.get(path)
    assert response.status_code == 410
    assert "It ended on November 30, 2026 at 12:00 AM UTC." in text_of(response)
    json = client.get(path, headers={"Accept": "application/json"})
    assert json.get_json()["state"] == "expired" and json.get_json()["expiredAt"].startswith("2026-11-30T00:00:00")


def test_last_second_of_the_chosen_day_still_opens(client, seeded, api_headers, clock) -> None:
    path, _ = issue(client, api_headers, expiresOn="2026-11-29")
    clock.advance(hours=35, minutes=59, seconds=59)
    assert client.get(path).status_code == 302


def test_used_up_link_gets_410_already_answered(client, seeded, api_headers) -> None:
    path, link_id = issue(client, api_headers)
    db.session.get(Link, link_id).use_count = 1
    db.session.commit()
    response = client.get(path)
    assert response.status_code == 410
    assert "already been answered" in response.get_data(as_text=True)


def test_revoked_link_gets_410(client, seeded, api_headers) -> None:
    path, link_id = issue(client, api_headers)
    revoke = client.post(f"/api/personal-links/v1/links/{link_id}/revoke", headers=api_headers)
    assert revoke.status_code == 200 and revoke.get_json()["data"]["state"] == "revoked"
    response = client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 410 and response.get_json()["state"] == "revoked"


def test_not_yet_valid_link_gets_403_with_its_start(client, seeded, api_headers, clock) -> None:
    path, _ = issue(client, api_headers, validFrom="2026-12-01")
    response = client.get(path)
    assert response.status_code == 403
    assert "It opens on December 1, 2026 at 12:00 AM UTC." in text_of(response)
    clock.advance(days=3)
    assert client.get(path).status_code == 302


@pytest.mark.parametrize("path", ["/c/zzzzzzzzzzz.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                  "/c/2LKcb2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_ids_beyond_the_databases_range_are_invalid_not_errors(client, seeded, path) -> None:
    assert client.get(path).status_code == 404


def test_revoke_with_an_id_beyond_the_range_is_404(client, seeded, api_headers) -> None:
    huge = "382220126783649546240"
    assert client.post(f"/api/personal-links/v1/links/{huge}/revoke", headers=api_headers).status_code == 404
    assert client.post("/api/personal-links/v1/links/2147483648/revoke", headers=api_headers).status_code == 404
    assert client.post("/api/personal-links/v1/links/2147483647/revoke", headers=api_headers).status_code == 404


@pytest.mark.parametrize(("base", "expected"), [
    ("https://forms.example.com/s/abc", "https://forms.example.com/s/abc?plink=TOKEN"),
    ("https://forms.example.com/s/abc?lang=de&plink=old#top", "https://forms.example.com/s/abc?lang=de&plink=TOKEN"),
    ("https://forms.example.com/s/abc?q=a%20b&e=", "https://forms.example.com/s/abc?q=a+b&e=&plink=TOKEN"),
    ("https://forms.example.com/s/ä?x=ü", "https://forms.example.com/s/ä?x=%C3%BC&plink=TOKEN"),
])
def test_the_target_puts_the_token_last_in_the_hidden_field(base: str, expected: str) -> None:
    for token in ("a1.b2-c3_d4", "e5.f6"):  # a survey URL's part is remembered; each click's token is its own
        assert with_hidden_field(base, token, "plink") == expected.replace("TOKEN", token)
    assert with_hidden_field(base, "a b&c", "plink").endswith("plink=a+b%26c")
