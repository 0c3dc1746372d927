"""The HTTP layer: retries, Retry-After, rate limiter, timeouts, error messages, host confinement."""

from __future__ import annotations

import pytest
import requests
import responses
from urllib3 import HTTPResponse

from adapters.base import AdapterError, ConfigurationError
from adapters.http import HostClient, HostRetry, TokenBucket, make_session
from tests.adapters.adapter_helpers import BASE, KEY, FakeClock

ME = f"{BASE}/api/v1/management/me"


def client(session: requests.Session | None = None) -> HostClient:
    return HostClient(
        BASE,
        {"x-api-key": KEY},
        session=session or make_session(retries=2, backoff_factor=0),
        timeout=3,
        host_name="Formbricks",
    )


def test_token_bucket_allows_burst_then_waits_for_refill(clock: FakeClock) -> None:
    bucket = TokenBucket(90, 60, burst=3, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3] == pytest.approx(60 / 90)
    assert clock.now - 1000 == pytest.approx(2 * 60 / 90)


def test_token_bucket_keeps_a_minute_under_the_host_limit(clock: FakeClock) -> None:
    bucket = TokenBucket(clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(300):
        bucket.acquire()
        stamps.append(clock.now)
    busiest = max(sum(1 for t in stamps if s <= t < s + 60) for s in stamps)
    assert busiest <= 90


def test_token_bucket_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)


@responses.activate
def test_limiter_is_taken_once_per_request(clock: FakeClock) -> None:
    bucket = TokenBucket(60, 60, burst=1, clock=clock, sleep=clock.sleep)
    responses.get(ME, json={"id": "ws"})
    c = client(make_session(limiter=bucket, backoff_factor=0))
    c.get_json("api/v1/management/me")
    c.get_json("api/v1/management/me")
    assert clock.slept == [pytest.approx(1.0)]


@responses.activate
def test_429_then_success_is_retried_even_for_post() -> None:
    url = f"{BASE}/api/v2/management/webhooks"
    responses.post(url, status=429, json={"error": {"code": 429, "message": "Too Many Requests"}})
    responses.post(url, status=201, json={"data": {"id": "wh"}})
    assert client().send_json("POST", "api/v2/management/webhooks", {}) == {"data": {"id": "wh"}}
    assert len(responses.calls) == 2


@responses.activate
def test_5xx_then_success_is_retried() -> None:
    responses.get(ME, status=502, body="bad gateway")
    responses.get(ME, status=503, json={"code": "internal_server_error", "message": "x", "details": {}})
    responses.get(ME, json={"id": "ws"})
    assert client().get_json("api/v1/management/me") == {"id": "ws"}


@responses.activate
def test_429_after_retries_says_to_wait() -> None:
    responses.get(ME, status=429, json={"code": "too_many_requests", "message": "Too many", "details": {}})
    with pytest.raises(AdapterError) as err:
        client().get_json("api/v1/management/me")
    assert err.value.status == 429 and "100 requests per minute" in err.value.message
    assert len(responses.calls) == 3


@responses.activate
def test_gateway_429_with_non_json_body() -> None:
    responses.get(ME, status=429, body="local_rate_limited", headers={"x-envoy-ratelimited": "true"})
    with pytest.raises(AdapterError) as err:
        client().get_json("api/v1/management/me")
    assert "gateway" in err.value.message and err.value.body == "local_rate_limited"


def test_retry_sleep_honours_retry_after_and_caps_it() -> None:
    slept: list[float] = []
    retry = HostRetry(total=3, backoff_factor=1)
    retry.sleeper, retry.max_wait = slept.append, 30.0
    retry.sleep(HTTPResponse(status=503, headers={"Retry-After": "7"}))
    retry.sleep(HTTPResponse(status=503, headers={"Retry-After": "3600"}))
    assert slept == [7, 30.0]


def test_retry_without_retry_after_backs_off_and_takes_a_token(clock: FakeClock) -> None:
    bucket = TokenBucket(60, 60, burst=1, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    retry = HostRetry(total=3, backoff_factor=2, status_forcelist=[429])
    retry.sleeper, retry.limiter = clock.sleep, bucket
    retry = retry.increment("GET", "/x", response=HTTPResponse(status=429)).increment(
        "GET", "/x", response=HTTPResponse(status=429)
    )
    assert retry.limiter is bucket
    retry.sleep(HTTPResponse(status=429))
    assert clock.slept[0] == 4.0  # backoff 2 * 2**(2-1)


@pytest.mark.parametrize("exc", [requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout])
@responses.activate
def test_timeouts_become_adapter_errors(exc: type[Exception]) -> None:
    responses.get(ME, body=exc("slow"))
    with pytest.raises(AdapterError) as err:
        client().get_json("api/v1/management/me")
    assert "did not answer within 3 s" in err.value.message


@responses.activate
def test_connection_error_says_check_url() -> None:
    responses.get(ME, body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(AdapterError, match="cannot connect"):
        client().get_json("api/v1/management/me")


@responses.activate
def test_every_call_has_a_timeout() -> None:
    responses.get(ME, json={"id": "x"})
    client().get_json("api/v1/management/me")
    assert responses.calls[0].request.req_kwargs["timeout"] == 3  # type: ignore[attr-defined]


@responses.activate
def test_malformed_json_is_an_adapter_error() -> None:
    responses.get(ME, body="<html>login</html>", content_type="text/html")
    with pytest.raises(AdapterError) as err:
        client().get_json("api/v1/management/me")
    assert "not JSON" in err.value.message and err.value.status == 200


def test_absolute_urls_to_another_host_are_refused() -> None:
    c = client()
    assert c.url("/api/v1/x") == f"{BASE}/api/v1/x"
    with pytest.raises(AdapterError, match="another host"):
        c.url("https://evil.example/api")
    assert c.url("//evil.example/api") == f"{BASE}/evil.example/api"  # a path, never a host


def test_base_url_must_be_absolute() -> None:
    with pytest.raises(ConfigurationError):
        HostClient("fb.example.org", {})
    with pytest.raises(ConfigurationError, match="^host URL names no valid host"):
        HostClient("http://[::1", {})


def test_repr_hides_the_key() -> None:
    assert KEY not in repr(client())
