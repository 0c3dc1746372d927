"""The items of a JSON answer's ``data`` list, parsed as the body arrives: listings without paging (Formbricks'
contacts and attribute values: every row in one answer) then take the memory of one item, not of the body.

Each item is decoded by the standard library's decoder (``raw_decode``); only the envelope is walked here.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from adapters.base import AdapterError

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _Reader:
    """Text from byte chunks, consumed from the front; refilled when a value runs past what has arrived."""

    def __init__(self, chunks: Iterable[bytes], what: str) -> None:
        self._chunks = iter(chunks)
        self._decode = codecs.getincrementaldecoder("utf-8")()
        self._text, self._at, self._ended, self.what = "", 0, False, what

    def _fill(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._text = self._text[self._at:] + self._decode.decode(chunk)
                self._at = 0
                return True
        if not self._ended:
            self._text, self._at, self._ended = self._text[self._at:] + self._decode.decode(b"", final=True), 0, True
        return False

    def fail(self, problem: str) -> AdapterError:
        return AdapterError(f"{self.what}: the answer is not the JSON expected ({problem})")

    def peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            self._at = _SPACE.match(self._text, self._at).end()  # type: ignore[union-attr]
            if self._at < len(self._text) or not self._fill():
                return self._text[self._at:self._at + 1]

    def take(self, expected: str) -> str:
        """The next character, which must be one of ``expected``."""
        text, at = self._text, self._at
        if at < len(text) and text[at] in expected:  # compact JSON: no space to skip
            self._at = at + 1
            return text[at]
        char = self.peek()
        if not char or char not in expected:
            raise self.fail(f"{char or 'the end'} where one of {expected!r} belongs")
        self._at += 1
        return char

    def value(self) -> Any:
        """The next whole JSON value."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self._text, self._at)
            except json.JSONDecodeError as exc:
                if self._text[self._at:self._at + 1] in (" ", "\t", "\n", "\r"):
                    self.peek()  # white space first (and more text if that was all)
                    continue
                if self._fill():
                    continue
                raise self.fail(exc.msg) from None
            if end == len(self._text) and self._fill():  # a number may go on in the next chunk
                continue
            self._at = end
            return value


    def items(self) -> Iterator[Any]:
        """The values of a list whose '[' has been taken, up to and with its ']'."""
        if self.peek() == "]":
            self._at += 1
            return
        decode = _DECODER.raw_decode
        while True:
            text, at, size = self._text, self._at, len(self._text)
            while True:  # the common case, kept tight: compact JSON, the value and its comma already here
                try:
                    value, end = decode(text, at)
                except json.JSONDecodeError:
                    break
                if end >= size or text[end] not in ",]":
                    break
                if text[end] == "]":
                    self._at = end + 1
                    yield value
                    return
                at = end + 1
                yield value
            self._at = at  # the rest of the way for one value: white space, more text, or an error
            yield self.value()
            if self.take(",]") == "]":
                return


def data_items(chunks: Iterable[bytes], *, what: str, key: str = "data") -> Iterator[Any]:
    """Each item of the list under ``key`` of a JSON object arriving in ``chunks``; the other members are read
    and dropped. AdapterError when the body is not such an object."""
    reader = _Reader(chunks, what)
    reader.take("{")
    if reader.peek() == "}":
        raise reader.fail(f"no {key!r} member")
    found = False
    while True:
        name = reader.value()
        reader.take(":")
        if name == key and reader.peek() == "[":
            found = True
            reader.take("[")
            yield from reader.items()
        else:
            reader.value()
        if reader.take(",}") == "}":
            break
    if not found:
        raise reader.fail(f"no {key!r} list")
    if reader.peek():
        raise reader.fail("more after the object")
