"""Payload parsing: the captured deliveries, older shapes, strict errors, and token extraction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from plugin.services.responses.records import Delivery, ResponseRecord, extract_token
from webhooks import payload
from webhooks.payload import PayloadError, UnknownEventError, parse_delivery
from webhooks.signature import verify


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment


def test_captured_delivery_verifies_then_parses(captured: dict[str, Any]) -> None:
    body = captured["body"].encode("utf-8")
    verify(captured["headers"], body, [captured["secret"]], now=int(captured["headers"]["webhook-timestamp"]))
    raw = json.loads(captured["body"])
    delivery = parse_delivery(body)
    assert isinstance(delivery, Delivery)
    assert (delivery.event, delivery.webhook_config_id) == (raw["event"], raw["webhookId"])
    response, expected = delivery.response, raw["data"]
    assert (response.id, response.survey_id) == (expected["id"], expected["surveyId"])
    assert response.finished is expected["finished"]
    assert response.created_at == _aware(expected["createdAt"])
    assert response.updated_at == _aware(expected["updatedAt"])
    assert response.created_at.utcoffset() is not None
    assert response.contact_id is None and expected["contact"] is None
    assert response.data == expected["data"]
    assert response.meta_url == expected["meta"]["url"]
    assert response.single_use_id == expected["singleUseId"]


def test_captured_events_are_created_updated_finished(captured: dict[str, Any]) -> None:
    delivery = parse_delivery(captured["body"].encode("utf-8"))
    assert isinstance(delivery, Delivery) and delivery.event in payload.RESPONSE_EVENTS


def _body(real_delivery: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The captured delivery as a document, with keys of its ``data`` replaced or (value ...) removed."""
    document = json.loads(real_delivery["body"])
    for key, value in changes.items():
        if value is ...:
            del document["data"][key]
        else:
            document["data"][key] = value
    return document


def _encode(document: Any) -> bytes:
    return json.dumps(document).encode("utf-8")


def test_test_ping() -> None:
    assert parse_delivery(b'{"event":"testEndpoint"}') == payload.TestPing()


def test_unknown_event_is_its_own_error(real_delivery: dict[str, Any]) -> None:
    document = _body(real_delivery)
    document["event"] = "surveyDeleted"
    with pytest.raises(UnknownEventError) as info:
        parse_delivery(_encode(document))
    assert info.value.event == "surveyDeleted" and info.value.field == "event"


def test_contact_and_older_person_shapes(real_delivery: dict[str, Any]) -> None:
    with_contact = parse_delivery(_encode(_body(real_delivery, contact={"id": "ct1", "userId": "u1"})))
    assert isinstance(with_contact, Delivery) and with_contact.response.contact_id == "ct1"
    older = _body(real_delivery, contact=..., contactAttributes=...)
    older["data"].update(person={"id": "p1"}, personAttributes={"email": "a@example.com"})
    parsed = parse_delivery(_encode(older))
    assert isinstance(parsed, Delivery) and parsed.response.contact_id == "p1"


def test_meta_without_url_and_no_meta(real_delivery: dict[str, Any]) -> None:
    for changes in ({"meta": {"source": "api"}}, {"meta": ...}, {"meta": None}):
        parsed = parse_delivery(_encode(_body(real_delivery, **changes)))
        assert isinstance(parsed, Delivery) and parsed.response.meta_url is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe{}",
        b'\xef\xbb\xbf{"event":"testEndpoint"}',
        b"[]",
        b'"event"',
        b"null",
        b"[" * 100_000,
        b'{"event": NaN}',
        b'{"event": "testEndpoint", "event": "responseCreated"}',
    ],
)
def test_bodies_that_are_not_a_json_object(body: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        parse_delivery(body)
    assert info.value.field == "body"


@pytest.mark.parametrize("number", ["1e999", "-1e999", "9" * 5000])
def test_huge_numbers(real_delivery: dict[str, Any], number: str) -> None:
    text = real_delivery["body"].replace('"finished":false', f'"finished":{number}')
    with pytest.raises(PayloadError) as info:
        parse_delivery(text.encode())
    assert info.value.field == "body"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": ...}, "data.id"),
        ({"id": None}, "data.id"),
        ({"id": 7}, "data.id"),
        ({"id": " "}, "data.id"),
        ({"surveyId": ...}, "data.surveyId"),
        ({"finished": "true"}, "data.finished"),
        ({"finished": 1}, "data.finished"),
        ({"createdAt": "2026-11-28"}, "data.createdAt"),
        ({"updatedAt": "2026-11-28T18:04:27"}, "data.updatedAt"),
        ({"createdAt": 1795889067}, "data.createdAt"),
        ({"createdAt": "2026-13-28T18:04:27Z"}, "data.createdAt"),
        ({"data": []}, "data.data"),
        ({"data": ...}, "data.data"),
        ({"contact": "ct1"}, "data.contact"),
        ({"contact": {}}, "data.contact.id"),
        ({"meta": {"url": 5}}, "data.meta.url"),
        ({"meta": "x"}, "data.meta"),
        ({"singleUseId": 3}, "data.singleUseId"),
    ],
)
def test_wrong_fields_are_named(real_delivery: dict[str, Any], changes: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_delivery(_encode(_body(real_delivery, **changes)))
    assert info.value.field == field and field in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"), [("webhookId", 1), ("event", 1), ("data", [])]
)
def test_wrong_top_level_fields(real_delivery: dict[str, Any], key: str, value: Any) -> None:
    document = _body(real_delivery)
    document[key] = value
    with pytest.raises(PayloadError) as info:
        parse_delivery(_encode(document))
    assert info.value.field == key


def test_a_missing_webhook_id_in_the_body_is_no_reason_to_lose_the_response(real_delivery: dict[str, Any]) -> None:
    document = _body(real_delivery)
    del document["webhookId"]
    parsed = parse_delivery(_encode(document))
    assert isinstance(parsed, Delivery) and parsed.webhook_config_id == ""
    assert parsed.response.id == document["data"]["id"]


def _response(real_delivery: dict[str, Any], **changes: Any) -> ResponseRecord:
    parsed = parse_delivery(_encode(_body(real_delivery, **changes)))
    assert isinstance(parsed, Delivery)
    return parsed.response


def test_token_from_hidden_field_wins(real_delivery: dict[str, Any]) -> None:
    url = "https://s.example/s/1?plink=fromUrl"
    response = _response(real_delivery, data={"plink": "fromData"}, meta={"url": url})
    assert extract_token(response, "plink") == "fromData"


@pytest.mark.parametrize("value", [..., "", None, 42, ["x"]])
def test_token_falls_back_to_the_first_url_parameter(real_delivery: dict[str, Any], value: Any) -> None:
    data = {} if value is ... else {"plink": value}
    url = "https://s.example/s/1?a=1&plink=Ab3.x_y-Z&plink=second#plink=frag"
    assert extract_token(_response(real_delivery, data=data, meta={"url": url}), "plink") == "Ab3.x_y-Z"


def test_token_from_the_captured_url(real_delivery: dict[str, Any]) -> None:
    response = _response(real_delivery, data={})
    assert extract_token(response, "userRef") == json.loads(real_delivery["body"])["data"]["data"]["userRef"]


@pytest.mark.parametrize(
    "url", [None, "https://s.example/s/1", "https://s.example/s/1?plink=", "http://[::1/s?plink=x"]
)
def test_no_token(real_delivery: dict[str, Any], url: str | None) -> None:
    response = _response(real_delivery, data={}, meta={"url": url})
    assert extract_token(response, "plink") is None


def test_plus_and_percent_2b_decode_as_the_host_does(real_delivery: dict[str, Any]) -> None:
    # What the host stores in data for ?plink=a+b%2Bc is 'a b+c'; the URL fallback must agree with it.
    response = _response(real_delivery, data={}, meta={"url": "https://s.example/s/1?plink=a+b%2Bc%3D"})
    assert extract_token(response, "plink") == "a b+c="
    url_safe = "Zx9.Ab-_c"
    response = _response(real_delivery, data={}, meta={"url": f"https://s.example/s/1?plink={url_safe}"})
    assert extract_token(response, "plink") == url_safe
