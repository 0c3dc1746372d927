"""What the HTTP layer answers, over a real server: 405 with Allow, an id past its column's range is 404 on
every method, a body over the limit is 413 also when sent chunked (no Content-Length), a JSON object with a key
twice is refused naming it; and the OpenAPI document lists those answers where the routes give them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from flask import Flask

from plugin import digits_up_to
from tests.servers import serve_in_thread

API = "/api/personal-links/v1"
LIMIT = 4096
pytestmark = pytest.mark.settings(MAX_CONTENT_LENGTH=LIMIT)
PAST_RANGE = ("2147483648", "9223372036854775808", "99999999999999999999")  # past 32 bits, past 64 bits
INT_PATHS = [f"{API}/links/{{}}/revoke", f"{API}/links/{{}}/reissue", f"{API}/suppressions/{{}}",
             f"{API}/events/subscriptions/{{}}", f"{API}/events/subscriptions/{{}}/pause",
             f"{API}/events/deliveries/{{}}", f"{API}/events/deliveries/{{}}/redeliver",
             f"{API}/webhooks/deliveries/{{}}/requeue", "/admin/links/{}/revoke",
             "/admin/events/subscriptions/{}/delete"]


@pytest.fixture
def base(app: Flask) -> Iterator[str]:
    """The app over real HTTP."""
    with serve_in_thread(app) as url:
        yield url


def _chunks(body: bytes, size: int = 1000) -> Iterator[bytes]:
    """The body as a generator: requests sends it with Transfer-Encoding: chunked and no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start:start + size]


def _allowed(answer: requests.Response) -> set[str]:
    return {method.strip() for method in answer.headers["Allow"].split(",")}


def test_a_405_carries_allow(base: str, api_headers: dict[str, str]) -> None:
    for method, path, allowed in (("DELETE", f"{API}/surveys", {"GET", "HEAD", "OPTIONS"}),
                                  ("GET", f"{API}/links/5/revoke", {"POST", "OPTIONS"}),
                                  ("PUT", f"{API}/events/subscriptions/5", {"GET", "HEAD", "DELETE", "OPTIONS"}),
                                  ("GET", "/webhooks/formbricks", {"POST", "OPTIONS"}),
                                  ("POST", "/admin/surveys", {"GET", "HEAD", "OPTIONS"})):
        answer = requests.request(method, base + path, headers=api_headers, timeout=10)
        assert answer.status_code == 405, (method, path)
        assert _allowed(answer) == allowed, (method, path)
        if path.startswith(("/api/", "/webhooks/")):
            assert answer.json()["error"]["code"] == 405


@pytest.mark.parametrize("limit", [0, 7, 10, 99, 100, 2**31 - 1, 2**63 - 1])
def test_the_id_pattern_matches_exactly_the_numbers_up_to_the_limit(limit: int) -> None:
    pattern = re.compile(digits_up_to(limit))
    near = {*range(0, 1200), *range(max(0, limit - 1200), limit + 1200), limit * 10, 10 ** len(str(limit))}
    for number in near | {int("9" * width) for width in range(1, 22)}:
        for text in (str(number), "00" + str(number)):
            assert bool(pattern.fullmatch(text)) == (number <= limit), (limit, text)


@pytest.mark.parametrize("number", PAST_RANGE)
def test_an_id_past_the_columns_range_is_404_on_every_method(base: str, api_headers: dict[str, str],
                                                             number: str) -> None:
    for template in INT_PATHS:
        for method in ("GET", "POST", "PUT", "DELETE"):
            answer = requests.request(method, base + template.format(number), headers=api_headers, timeout=10)
            assert answer.status_code == 404, (method, template, number)


def test_the_largest_id_a_column_holds_is_looked_up(base: str, api_headers: dict[str, str]) -> None:
    for method, template in (("POST", f"{API}/links/{{}}/revoke"), ("DELETE", f"{API}/suppressions/{{}}"),
                             ("GET", f"{API}/events/subscriptions/{{}}"), ("GET", f"{API}/events/deliveries/{{}}")):
        answer = requests.request(method, base + template.format(2**31 - 1), headers=api_headers, timeout=10)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == 404
        assert "requested URL was not found" not in answer.text  # the view looked the row up: none
    assert requests.post(base + f"{API}/links/0000000000002/revoke", headers=api_headers, timeout=10).status_code == 404


@pytest.mark.parametrize("method, path", [("PUT", f"{API}/surveys/s-1"), ("POST", f"{API}/suppressions"),
                                          ("DELETE", f"{API}/suppressions"), ("POST", f"{API}/events/subscriptions"),
                                          ("POST", f"{API}/contacts-made.csv")])
def test_a_chunked_body_over_the_limit_is_413(base: str, api_headers: dict[str, str], method: str,
                                              path: str) -> None:
    body = b'{"publicUrl": "https://forms.example.com/s/s-1", "pad": "' + b"x" * LIMIT + b'"}'
    answer = requests.request(method, base + path, data=_chunks(body), timeout=10,
                              headers={**api_headers, "Content-Type": "application/json"})
    assert answer.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in answer.request.headers
    assert answer.status_code == 413 and answer.json()["error"]["code"] == 413


def test_a_chunked_body_within_the_limit_is_read_whole(base: str, api_headers: dict[str, str]) -> None:
    for size in (LIMIT - 200, LIMIT):  # up to the limit exactly; its last bytes name the survey
        head, tail = b'{"publicUrl": "https://forms.example.com/s/s-1",', b'"name": "read whole"}'
        body = head + b" " * (size - len(head) - len(tail)) + tail
        assert len(body) == size
        answer = requests.put(base + f"{API}/surveys/s-1", data=_chunks(body), timeout=10,
                              headers={**api_headers, "Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["name"] == "read whole"


@pytest.mark.parametrize("body, key", [
    (b'{"publicUrl": "https://forms.example.com/s/s-1", "publicUrl": "javascript:alert(1)"}', "publicUrl"),
    (b'{"suppressions": [{"email": "a@example.com", "reason": "asked", "email": "b@example.com"}]}', "email"),
])
def test_a_json_key_given_twice_is_refused_naming_it(base: str, api_headers: dict[str, str], body: bytes,
                                                     key: str) -> None:
    path = f"{API}/surveys/s-1" if b"publicUrl" in body else f"{API}/suppressions"
    answer = requests.request("PUT" if "surveys" in path else "POST", base + path, data=body, timeout=10,
                              headers={**api_headers, "Content-Type": "application/json"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert f"'{key}'" in error["detail"] and "twice" in error["detail"]
    assert error["details"][0]["field"] == "body"
    assert requests.get(base + f"{API}/surveys", headers=api_headers, timeout=10).json()["data"] == []


def _filled(path: str, integers: set[str], number: str) -> str:
    """A documented path with ``number`` for its integer parameters and ``x`` for the others."""
    return re.sub(r"\{(\w+)\}", lambda match: number if match.group(1) in integers else "x", path)


@pytest.mark.settings(MAX_CONTENT_LENGTH=LIMIT, AUTH_FAILURE_LIMIT=1)
def test_the_openapi_document_lists_what_is_answered(app: Flask, client, api_headers: dict[str, str]) -> None:
    """For every documented operation: a body over the limit is 413 exactly where 413 is listed, a wrong key
    past the limit 429 exactly where 429 is; an integer path parameter past its range is 404, listed; and every
    path's 405 allows exactly the documented methods."""
    document = client.get("/openapi.json").get_json()
    app.config["WEBHOOK_MAX_BYTES"] = LIMIT
    wrong = {"headers": {"x-api-key": "plk_wrong"}, "environ_base": {"REMOTE_ADDR": "192.0.2.9"}}  # a guesser
    assert client.get(f"{API}/surveys", **wrong).status_code == 401  # the one wrong key allowed
    oversized = b"{" + b" " * (2 * LIMIT) + b"}"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            ints = {p["name"] for p in operation.get("parameters", [])
                    if p["in"] == "path" and p["schema"].get("type") == "integer"}
            answer = client.open(_filled(path, ints, "1"), method=method.upper(), data=oversized,
                                 headers=api_headers, content_type="application/json")
            documented = set(operation["responses"])
            assert (answer.status_code == 413) == ("413" in documented), (method, path, answer.status_code)
            throttled = client.open(_filled(path, ints, "1"), method=method.upper(), **wrong)
            assert (throttled.status_code == 429) == ("429" in documented), (method, path, throttled.status_code)
            if ints:
                url = _filled(path, ints, PAST_RANGE[0])
                assert client.open(url, method=method.upper(), headers=api_headers).status_code == 404, url
                assert "404" in documented, (method, path)
        listed = {method.upper() for method in item} | {"OPTIONS"} | ({"HEAD"} if "get" in item else set())
        other = next(m for m in ("PATCH", "PUT", "DELETE", "POST", "GET") if m not in listed)
        url = re.sub(r"\{(\w+)\}", "1", path)
        refused = client.open(url, method=other, headers=api_headers)
        assert refused.status_code == 405 and set(refused.headers["Allow"].split(", ")) == listed, (other, path)
    assert "405" in document["info"]["description"] and "Allow" in document["info"]["description"]
