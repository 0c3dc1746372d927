"""Request ids on every answer, log line and audit row; the JSON line format."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest
from sqlalchemy import select

from plugin import logs
from plugin.db import db
from plugin.models import AuditEvent

BASE = "/api/v2/management/surveys/survey-1/contact-links/contacts/"


def test_a_request_id_sent_is_returned_and_one_is_made_otherwise(client) -> None:
    sent = client.get("/healthz", headers={"X-Request-ID": "lb-4f2a.9:x_y-1"})
    assert sent.headers["X-Request-ID"] == "lb-4f2a.9:x_y-1"
    first, second = client.get("/healthz"), client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize("hostile", ["x" * 65, "a b", "id\r\nX-Evil: 1", "<script>", "ü", ""])
def test_a_hostile_request_id_is_replaced_never_echoed(client, caplog, hostile: str) -> None:
    caplog.set_level(logging.INFO, logger="plugin.access")
    environ = {"HTTP_X_REQUEST_ID": hostile}
    answer = client.get("/healthz", environ_overrides=environ)
    made = answer.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    lines = [record for record in caplog.records if record.name == "plugin.access"]
    assert [record.request_id for record in lines] == [made]
    assert all(hostile not in record.getMessage() for record in lines) or hostile == ""


def test_audit_rows_carry_the_id_of_the_request_that_wrote_them(client, seeded, api_headers) -> None:
    issued = client.get(BASE + "c1", headers={**api_headers, "X-Request-ID": "issue-1"}).get_json()["data"]
    path = issued["surveyUrl"].split("links.example.com", 1)[1]
    assert client.get(path, headers={"X-Request-ID": "open-1"}).status_code == 302
    rows = db.session.execute(select(AuditEvent.action, AuditEvent.request_id).order_by(AuditEvent.id)).all()
    assert ("issued", "issue-1") in rows and ("opened", "open-1") in rows
    assert {request_id for _, request_id in rows} == {"issue-1", "open-1"}


def test_the_last_line_of_a_request_names_its_route_not_its_path(client, seeded, api_headers, caplog) -> None:
    caplog.set_level(logging.INFO, logger="plugin.access")
    issued = client.get(BASE + "c1", headers=api_headers).get_json()["data"]
    path = issued["surveyUrl"].split("links.example.com", 1)[1]
    token = path.rsplit("/", 1)[1]
    client.get(path, headers={"X-Request-ID": "open-2"})
    record = [r for r in caplog.records if r.name == "plugin.access" and r.request_id == "open-2"][0]
    assert (record.route, record.method, record.status) == ("/c/<token>", "GET", 302)
    assert record.getMessage().startswith("GET /c/<token> 302 ")
    assert token not in caplog.text


def test_json_lines_have_every_field() -> None:
    formatter = logs.JsonFormatter()
    token = logs.bind("req-7", "/c/<token>")
    try:
        record = logging.getLogger("plugin.access").makeRecord(
            "plugin.access", logging.INFO, __file__, 1, "GET %s %s", ("/c/<token>", 302), None,
            extra={"route": "/c/<token>", "method": "GET", "status": 302, "duration_ms": 1.5})
        logs.ContextFilter().filter(record)
    finally:
        logs.unbind(token)
    line = json.loads(formatter.format(record))
    assert line["level"] == "INFO" and line["logger"] == "plugin.access" and line["message"] == "GET /c/<token> 302"
    assert (line["requestId"], line["route"], line["method"], line["status"], line["durationMs"]) == (
        "req-7", "/c/<token>", "GET", 302, 1.5)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])


def test_an_error_line_outside_a_request_has_no_id_and_keeps_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("plugin.x").makeRecord("plugin.x", logging.ERROR, __file__, 1, "failed", (),
                                                           sys.exc_info())
    logs.ContextFilter().filter(record)
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["requestId"] is None and "ValueError: boom" in line["exception"] and "route" not in line


def test_an_unhandled_error_is_logged_with_the_route_not_the_path(tmp_path, caplog) -> None:
    from plugin import create_app
    from tests.helpers import base_config

    app = create_app(base_config(f"sqlite:///{tmp_path}/x.db", TESTING=False))

    @app.get("/boom/<token>")
    def boom(token: str) -> str:
        raise RuntimeError("failed")

    answer = app.test_client().get("/boom/secret-token-value", headers={"X-Request-ID": "boom-1"})
    assert answer.status_code == 500
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert [record.getMessage() for record in errors] == ["Exception on /boom/<token> [GET]"]
    assert errors[0].request_id == "boom-1" and "secret-token-value" not in caplog.text
