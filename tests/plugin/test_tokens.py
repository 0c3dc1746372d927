"""Link tokens: every tampered byte is refused, keys rotate, tokens are bound to their survey."""

from __future__ import annotations

import hashlib

import pytest
from itsdangerous import Signer

from plugin.tokens import ALPHABET, SALT, InvalidToken, LinkTokens, decode_id, encode_id

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


TOKEN_CHARACTERS = ALPHABET + "._-"


def test_every_byte_changed_to_every_character_is_refused() -> None:
    """One spelling per token: the last signature character's two spare bits must not open the same link."""
    tokens = LinkTokens(KEY)
    for link_id, survey_id in ((987, "survey-a"), (1, "s"), (2**31 - 1, "clx0pyyrx000a9f7dylunl2qk")):
        token = tokens.make(link_id, survey_id)
        opened = [forged for position in range(len(token)) for character in TOKEN_CHARACTERS
                  if character != token[position]
                  for forged in [token[:position] + character + token[position + 1:]]
                  if _opens(tokens, forged, survey_id)]
        assert opened == []


def _opens(tokens: LinkTokens, token: str, survey_id: str) -> bool:
    try:
        tokens.verify(token, survey_id)
    except InvalidToken:
        return False
    return True


def test_tokens_are_the_ones_itsdangerous_signs() -> None:
    """Deriving the key once keeps the format: every token issued before still opens, every new one is the same."""
    for secret, fallbacks in ((KEY, ()), (KEY, (OLD_KEY,))):
        signer = Signer([*fallbacks, secret], salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256)
        tokens = LinkTokens(secret, fallbacks)
        for link_id in (0, 5, 987, 10**9):
            message = f"survey-a\x00{encode_id(link_id)}".encode()
            expected = f"{encode_id(link_id)}.{signer.get_signature(message).decode()}"
            assert tokens.make(link_id, "survey-a") == expected
            assert signer.verify_signature(message, expected.split(".")[1].encode())


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
