"""Link tokens: every tampered byte is refused, keys rotate, tokens are bound to their survey."""

from __future__ import annotations

import pytest

from plugin.tokens import ALPHABET, InvalidToken, LinkTokens, decode_id, encode_id

KEY, OLD_KEY = "k" * 40, "o" * 40


def test_round_trip_and_determinism() -> None:
    tokens = LinkTokens(KEY)
    token = tokens.make(123456, "survey-a")
    assert tokens.make(123456, "survey-a") == token
    assert tokens.verify(token, "survey-a") == 123456
    assert LinkTokens.peek(token) == 123456


@pytest.mark.parametrize("number", [0, 1, 61, 62, 10**12])
def test_base62(number: int) -> None:
    assert decode_id(encode_id(number)) == number


def test_every_changed_byte_is_refused() -> None:
    tokens = LinkTokens(KEY)
    token = tokens.make(987, "survey-a")
    refused = 0
    for position in range(len(token)):
        for replacement in {ALPHABET[0], "Z", "-", "_", "."} - {token[position]}:
            forged = token[:position] + replacement + token[position + 1:]
            with pytest.raises(InvalidToken):
                tokens.verify(forged, "survey-a")
            refused += 1
    assert refused >= 4 * len(token)


@pytest.mark.parametrize("forged", ["", ".", "abc", "1.", ".abc", "1." + "a" * 200, "1 .abc", "١.abcdefghijabcdefghijk",
                                    "01.abcdefghijabcdefghijabcdefghij"])
def test_malformed_tokens_are_refused(forged: str) -> None:
    with pytest.raises(InvalidToken):
        LinkTokens(KEY).verify(forged, "survey-a")


def test_leading_zero_spelling_is_refused() -> None:
    tokens = LinkTokens(KEY)
    token = tokens.make(5, "s")
    with pytest.raises(InvalidToken):
        tokens.verify("0" + token, "s")


def test_token_is_bound_to_its_survey() -> None:
    tokens = LinkTokens(KEY)
    with pytest.raises(InvalidToken):
        tokens.verify(tokens.make(5, "survey-a"), "survey-b")


def test_rotation_keeps_old_tokens_and_signs_with_the_new_key() -> None:
    old = LinkTokens(OLD_KEY).make(42, "s")
    rotated = LinkTokens(KEY, fallbacks=[OLD_KEY])
    assert rotated.verify(old, "s") == 42
    assert rotated.make(42, "s") == LinkTokens(KEY).make(42, "s") != old
    with pytest.raises(InvalidToken):
        LinkTokens(KEY).verify(old, "s")


def test_token_is_short_url_safe_and_carries_no_personal_data() -> None:
    token = LinkTokens(KEY).make(10**9, "clx0pyyrx000a9f7dylunl2qk")
    url = f"https://links.example.com/c/{token}"
    assert len(url) < 100
    assert set(token) <= set(ALPHABET + "._-")
    assert "clx0" not in token
