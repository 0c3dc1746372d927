"""GET /metrics: off by default, behind the bearer token when on, and numbers that move with the traffic."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from flask import Flask

from plugin import create_app, metrics
from plugin.config import ConfigError
from tests.helpers import base_config
from tests.metrics_support import FOLDER, parse, total
from tests.servers import serve_in_thread
from tests.webhooks.support import SECRET, response_body, signed

TOKEN = "scrape-token-0123456789"
ON = {"METRICS": "on", "METRICS_TOKEN": TOKEN, "METRICS_DIR": FOLDER, "WEBHOOK_SECRETS": SECRET}
BASE = "/api/v2/management/surveys/survey-1/contact-links/contacts/"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


def scrape(client) -> dict:
    answer = client.get("/metrics", headers=SCRAPER)
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain; version=")
    return parse(answer.get_data(as_text=True))


def test_metrics_are_off_by_default(client) -> None:
    assert client.get("/metrics", headers=SCRAPER).status_code == 404


@pytest.mark.parametrize("settings, message", [
    ({"METRICS": "on", "METRICS_TOKEN": "short"}, "at least 16 characters"),
    ({"METRICS": "maybe"}, "PERSONAL_LINKS_METRICS must be on or off"),
])
def test_metrics_on_need_a_real_token(settings, message, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        create_app(base_config(f"sqlite:///{tmp_path}/x.db", **settings))


@pytest.mark.settings(**{**ON, "METRICS_TOKEN": None})
def test_without_a_token_the_app_serves_no_metrics(client) -> None:
    # they are counted, and served by ``personal-links metrics-server`` on its own address
    assert client.get("/metrics", headers=SCRAPER).status_code == 404


@pytest.mark.settings(**ON)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789"},
                                     {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}])
def test_the_scrape_needs_the_bearer_token(client, headers) -> None:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"personal_links" not in answer.data


@pytest.mark.settings(**ON)
def test_traffic_moves_the_counters_and_no_label_holds_personal_data(app: Flask, client, seeded,
                                                                      api_headers) -> None:
    before = scrape(client)
    issued = client.get(BASE + "c1", headers=api_headers).get_json()["data"]
    path = issued["surveyUrl"].split("links.example.com", 1)[1]
    token = path.rsplit("/", 1)[1]
    client.get(path)
    client.get(path)
    client.get("/c/not-a-token")
    body = response_body("responseFinished", "resp-1", token, finished=True)
    assert client.post("/webhooks/formbricks", data=body, headers=signed(body)).status_code == 200
    again = response_body("responseFinished", "resp-2", token, finished=True)
    client.post("/webhooks/formbricks", data=again, headers=signed(again))
    forged = signed(body)
    forged["webhook-signature"] = "v1,AAAA"
    assert client.post("/webhooks/formbricks", data=body, headers=forged).status_code in (400, 401)
    text = client.get("/metrics", headers=SCRAPER).get_data(as_text=True)
    after = parse(text)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("personal_links_links_issued_total", via="api-key") == 1
    assert moved("personal_links_link_opens_total", state="live") == 2
    assert moved("personal_links_link_opens_total", state="invalid") == 1
    assert moved("personal_links_responses_total", outcome="attributed") == 1
    assert moved("personal_links_responses_total", outcome="duplicate") == 1
    assert moved("personal_links_webhook_deliveries_total", outcome="applied", status="200") == 2
    assert moved("personal_links_webhook_deliveries_total", outcome="rejected") == 1
    assert moved("personal_links_webhook_signature_failures_total") == 1
    assert moved("personal_links_http_requests_total", route="/c/<token>", status="302") == 2
    assert moved("personal_links_http_request_seconds_count", route="/c/<token>", method="GET") == 3
    for secret in (token, "c1", "one@example.com", api_headers["x-api-key"], "survey-1", "resp-1"):
        assert secret not in text


@pytest.mark.settings(**ON)
def test_host_calls_are_counted_by_route_and_status_429s_included(app: Flask, client) -> None:
    from adapters.http import HostClient, make_session

    host_app = Flask("fake-host")
    answers = iter([429, 200])

    @host_app.get("/api/v1/management/responses/<response_id>")
    def one(response_id: str) -> tuple[dict, int]:
        return {"data": {}}, next(answers)

    before = scrape(client)
    with serve_in_thread(host_app) as url:
        host = HostClient(url, {"x-api-key": "k"}, host_name="Formbricks", session=make_session(sleep=lambda _: None))
        host.get_json("/api/v1/management/responses/clx0abc123def456")
    after = scrape(client)
    route = "/api/v1/management/responses/{id}"
    key = "personal_links_host_api_calls_total"
    for status in ("429", "200"):
        assert total(after, key, route=route, status=status) - total(before, key, route=route, status=status) == 1
    assert total(after, "personal_links_host_api_call_seconds_count", route=route) - total(
        before, "personal_links_host_api_call_seconds_count", route=route) == 1


@pytest.mark.settings(**ON, WEBHOOK_MAX_BYTES=1000)
def test_a_chunked_webhook_body_over_the_limit_counts_as_too_large_not_as_a_forgery(app: Flask, client) -> None:
    body = b'{"event": "responseCreated", "pad": "' + b"x" * 1500 + b'"}'
    before = scrape(client)
    with serve_in_thread(app) as url:
        answer = requests.post(url + "/webhooks/formbricks", headers=signed(body), timeout=10,
                               data=(body[start:start + 300] for start in range(0, len(body), 300)))  # chunked
    assert answer.status_code == 413
    after = scrape(client)
    deliveries = "personal_links_webhook_deliveries_total"
    for name, labels, moved in ((deliveries, {"outcome": "too-large", "status": "413"}, 1),
                                (deliveries, {"outcome": "rejected"}, 0),
                                ("personal_links_webhook_signature_failures_total", {}, 0)):
        assert total(after, name, **labels) - total(before, name, **labels) == moved, name


@pytest.mark.settings(**ON, PURGE_INTERVAL_SECONDS=0)
def test_job_runs_are_counted_with_their_duration(app: Flask, client) -> None:
    from plugin.jobs.runner import run_job

    before = scrape(client)
    assert run_job(app, "purge", trigger="manual").status == "succeeded"
    after = scrape(client)
    for name in ("personal_links_job_runs_total", "personal_links_job_run_seconds_count"):
        assert total(after, name, job="purge", outcome="succeeded") - total(before, name, job="purge",
                                                                            outcome="succeeded") == 1


def test_host_paths_lose_their_ids() -> None:
    assert metrics.host_route("/api/v2/management/contacts/clz9x8y7w6v5u4t3s2r1q0p9o") == \
        "/api/v2/management/contacts/{id}"
    assert metrics.host_route("/api/v1/management/me") == "/api/v1/management/me"
    assert metrics.host_route("/api/v1/webhooks/42") == "/api/v1/webhooks/{id}"


def test_the_separate_metrics_server_refuses_to_start_with_metrics_off(monkeypatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from plugin.cli import cli
    from tests.helpers import PUBLIC_URL, SECRET_KEY

    for name, value in {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": SECRET_KEY,
                        "PUBLIC_URL": PUBLIC_URL, "METRICS": "off"}.items():
        monkeypatch.setenv(f"PERSONAL_LINKS_{name}", value)
    result = CliRunner().invoke(cli, ["metrics-server", "--port", "1"], obj={})
    assert result.exit_code == 1 and "PERSONAL_LINKS_METRICS is off" in result.output


def test_the_separate_app_serves_the_scrape_at_its_path_only() -> None:
    from werkzeug.test import Client

    from plugin.monitoring import separate_app

    client = Client(separate_app())
    assert client.get("/").status_code == 404 and client.post("/metrics").status_code == 404
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain; version=")
    assert client.head("/metrics").data == b""
