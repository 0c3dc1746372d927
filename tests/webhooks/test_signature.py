"""Signature verification: the shared cases, the captured deliveries, and one broken thing per test."""

from __future__ import annotations

import random
from typing import Any

import pytest

from webhooks.signature import SignatureError, VerifiedDelivery, parse_secret, sign, verify

OTHER_SECRET = "whsec_" + "AQEB" * 11  # 33 bytes of 0x01, not the captured secret


def test_standard_case(standard_case: dict[str, Any]) -> None:
    case = standard_case
    body = case["body"].encode("utf-8")
    if case["valid"]:
        result = verify(case["headers"], body, case["secrets"], now=case["now"])
        assert result.webhook_id == case["headers"]["webhook-id"]
        assert result.timestamp == int(case["headers"]["webhook-timestamp"])
    else:
        with pytest.raises(SignatureError) as info:
            verify(case["headers"], body, case["secrets"], now=case["now"])
        assert info.value.status in (400, 401)


def test_captured_delivery_verifies_at_its_own_time(captured: dict[str, Any]) -> None:
    headers = captured["headers"]
    timestamp = int(headers["webhook-timestamp"])
    result = verify(headers, captured["body"].encode("utf-8"), [captured["secret"]], now=timestamp)
    assert result == VerifiedDelivery(webhook_id=headers["webhook-id"], timestamp=timestamp)


def test_sign_reproduces_the_captured_header(captured: dict[str, Any]) -> None:
    headers = captured["headers"]
    body = captured["body"].encode("utf-8")
    signed = sign(headers["webhook-id"], int(headers["webhook-timestamp"]), body, captured["secret"])
    assert signed == headers["webhook-signature"]


# A real captured payload, re-signed in each test with exactly one thing broken.

NOW = 1_800_000_000
WEBHOOK_ID = "17cd01855a02ae9c270cf7110f0dc7ea0090eda58b4af380e6b97c12335afc32"


def _signed(delivery: dict[str, Any], **overrides: str) -> tuple[dict[str, str], bytes, str]:
    """Headers, body and secret of the delivery re-signed at NOW, with some headers then overridden."""
    body = delivery["body"].encode("utf-8")
    secret = delivery["secret"]
    headers = {
        "Content-Type": "application/json",
        "Webhook-Id": WEBHOOK_ID,
        "Webhook-Timestamp": str(NOW),
        "Webhook-Signature": sign(WEBHOOK_ID, NOW, body, secret),
    }
    headers.update(overrides)
    return headers, body, secret


def _rejected(headers: Any, body: bytes, secrets: list[str | bytes], *, now: float = NOW) -> SignatureError:
    with pytest.raises(SignatureError) as info:
        verify(headers, body, secrets, now=now)
    return info.value


def test_resigned_payload_verifies_with_mixed_case_headers(real_delivery: dict[str, Any]) -> None:
    headers, body, secret = _signed(real_delivery)
    assert verify(headers, body, [secret], now=NOW) == VerifiedDelivery(WEBHOOK_ID, NOW)


def test_one_body_byte_changed(real_delivery: dict[str, Any]) -> None:
    headers, body, secret = _signed(real_delivery)
    tampered = body.replace(b'"finished":false', b'"finished":true ')
    assert len(tampered) == len(body) and tampered != body
    assert _rejected(headers, tampered, [secret]).reason == "no-matching-signature"


def test_id_changed(real_delivery: dict[str, Any]) -> None:
    headers, body, secret = _signed(real_delivery, **{"Webhook-Id": WEBHOOK_ID[:-1] + "0"})
    assert _rejected(headers, body, [secret]).status == 401


def test_timestamp_changed_within_tolerance(real_delivery: dict[str, Any]) -> None:
    headers, body, secret = _signed(real_delivery, **{"Webhook-Timestamp": str(NOW + 1)})
    assert _rejected(headers, body, [secret]).reason == "no-matching-signature"


def test_timestamp_with_leading_zero_is_not_the_signed_one(real_delivery: dict[str, Any]) -> None:
    headers, body, secret = _signed(real_delivery, **{"Webhook-Timestamp": "0" + str(NOW)})
    assert _rejected(headers, body, [secret]).reason == "no-matching-signature"


@pytest.mark.parametrize("skew", [-301, 301, 10**6])
def test_authentic_but_outside_tolerance(real_delivery: dict[str, Any], skew: int) -> None:
    headers, body, secret = _signed(real_delivery)
    error = _rejected(headers, body, [secret], now=NOW + skew)
    assert (error.status, error.reason) == (401, "timestamp-out-of-tolerance")


@pytest.mark.parametrize("skew", [-300, 300])
def test_tolerance_is_inclusive_both_ways(real_delivery: dict[str, Any], skew: int) -> None:
    headers, body, secret = _signed(real_delivery)
    assert verify(headers, body, [secret], now=NOW + skew).timestamp == NOW


def test_wrong_secret(real_delivery: dict[str, Any]) -> None:
    headers, body, _ = _signed(real_delivery)
    assert _rejected(headers, body, [OTHER_SECRET]).status == 401


@pytest.mark.parametrize("name", ["Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"])
def test_missing_header(real_delivery: dict[str, Any], name: str) -> None:
    headers, body, secret = _signed(real_delivery)
    del headers[name]
    error = _rejected(headers, body, [secret])
    assert (error.status, error.reason) == (400, "missing-header")
    assert name.lower() in str(error)


def test_header_given_twice_in_different_case(real_delivery: dict[str, Any]) -> None:
    headers, body, secret = _signed(real_delivery)
    headers["webhook-id"] = "another"
    assert _rejected(headers, body, [secret]).status == 400


@pytest.mark.parametrize("spaced", ["  {sig}", "{sig}  ", "v1,Zm9v   {sig}"])
def test_extra_spaces_between_entries_are_tolerated(real_delivery: dict[str, Any], spaced: str) -> None:
    headers, body, secret = _signed(real_delivery)
    headers["Webhook-Signature"] = spaced.format(sig=headers["Webhook-Signature"])
    assert verify(headers, body, [secret], now=NOW).webhook_id == WEBHOOK_ID


def test_space_inside_an_entry_breaks_it(real_delivery: dict[str, Any]) -> None:
    headers, body, secret = _signed(real_delivery)
    headers["Webhook-Signature"] = headers["Webhook-Signature"].replace(",", ", ")
    assert _rejected(headers, body, [secret]).status == 400


def test_second_valid_signature_among_junk(real_delivery: dict[str, Any]) -> None:
    headers, body, secret = _signed(real_delivery)
    valid = headers["Webhook-Signature"]
    headers["Webhook-Signature"] = f"v1,@@@ v1 v2,{valid[3:]} ,x v1,Zm9vYmFy {valid} v1,AAAA"
    assert verify(headers, body, [secret], now=NOW).timestamp == NOW


def test_secret_rotation_list(real_delivery: dict[str, Any]) -> None:
    headers, body, secret = _signed(real_delivery)
    assert verify(headers, body, [OTHER_SECRET, secret], now=NOW).webhook_id == WEBHOOK_ID
    assert verify(headers, body, [parse_secret(secret)], now=NOW).webhook_id == WEBHOOK_ID


def test_signature_made_with_the_new_secret_only(real_delivery: dict[str, Any]) -> None:
    body = real_delivery["body"].encode("utf-8")
    headers = {"webhook-id": WEBHOOK_ID, "webhook-timestamp": str(NOW)}
    headers["webhook-signature"] = sign(WEBHOOK_ID, NOW, body, OTHER_SECRET)
    assert verify(headers, body, [real_delivery["secret"], OTHER_SECRET], now=NOW).timestamp == NOW
    assert _rejected(headers, body, [real_delivery["secret"]]).status == 401


@pytest.mark.parametrize(
    "timestamp",
    [
        "-1614265330",
        "+1614265330",
        " 1614265330",
        "1614265330\n",
        "1614265330.0",
        "1e9",
        "nan",
        "inf",
        "١٦١٤٢٦٥٣٣٠",
        "１６１４２６５３３０",
        "1_614_265_330",
        "9" * 16,
        "9" * 5000,
        "0x60",
    ],
)
def test_hostile_timestamps_are_malformed(real_delivery: dict[str, Any], timestamp: str) -> None:
    headers, body, secret = _signed(real_delivery, **{"Webhook-Timestamp": timestamp})
    assert _rejected(headers, body, [secret]).status == 400


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Webhook-Id", "msg 1"),
        ("Webhook-Id", "msg\x00"),
        ("Webhook-Id", "ïd"),
        ("Webhook-Id", "x" * 257),
        ("Webhook-Signature", "v1,ñ"),
        ("Webhook-Signature", "v1," + "A" * 5000),
        ("Webhook-Signature", " "),
        ("Webhook-Signature", "v1,"),
        ("Webhook-Signature", "v1,AAA"),
        ("Webhook-Signature", "v1,===="),
        ("Webhook-Id", ""),
    ],
)
def test_hostile_headers_are_malformed(real_delivery: dict[str, Any], name: str, value: str) -> None:
    headers, body, secret = _signed(real_delivery, **{name: value})
    assert _rejected(headers, body, [secret]).status == 400


def test_non_string_header_value_is_rejected(real_delivery: dict[str, Any]) -> None:
    headers: dict[str, Any] = dict(_signed(real_delivery)[0])
    headers["Webhook-Id"] = WEBHOOK_ID.encode()
    assert _rejected(headers, real_delivery["body"].encode(), [real_delivery["secret"]]).status == 400


def test_only_signature_errors_for_random_headers(real_delivery: dict[str, Any]) -> None:
    """A deterministic fuzz loop: random bytes and near-misses in each header give SignatureError only."""
    rng = random.Random(20261128)
    headers, body, secret = _signed(real_delivery)
    alphabet = "v1, =+/0123456789١٢٣abcXYZ.\t\x00é\U0001f600"
    for _ in range(2000):
        name = rng.choice(["Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"])
        if rng.random() < 0.5:
            value = rng.randbytes(rng.randrange(0, 80)).decode("latin-1")
        else:
            value = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 80)))
        broken = {**headers, name: value}
        with pytest.raises(SignatureError):
            verify(broken, body, [secret], now=NOW)


def test_error_messages_do_not_leak_secrets_or_signatures(real_delivery: dict[str, Any]) -> None:
    headers, body, secret = _signed(real_delivery)
    expected = headers["Webhook-Signature"]
    headers["Webhook-Signature"] = "v1,Zm9vYmFy"
    message = str(_rejected(headers, body, [secret]))
    assert secret[6:] not in message and expected[3:] not in message


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "whsec_",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_@@@@",
        "whsec_MfKQ 9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
        "whsec_dGVzdA==",
        "whsec_A",
        "whsec_" + "ñ" * 32,
    ],
)
def test_malformed_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_secret(secret)
    assert len(secret) < 8 or secret[6:] not in str(info.value)


def test_unpadded_secret_is_accepted() -> None:
    padded = "whsec_/9pW/LFHWKpn1sVE9bdkGCwnAmBW2OU61eT2f2JZPco="
    assert parse_secret(padded.rstrip("=")) == parse_secret(padded)
    assert len(parse_secret(padded)) == 32


@pytest.mark.parametrize("secrets", [[], "whsec_/9pW/LFHWKpn1sVE9bdkGCwnAmBW2OU61eT2f2JZPco="])
def test_secrets_must_be_a_non_empty_list(real_delivery: dict[str, Any], secrets: Any) -> None:
    headers, body, _ = _signed(real_delivery)
    with pytest.raises(ValueError):
        verify(headers, body, secrets, now=NOW)
