"""Streamed listings: the items of a ``data`` list, whatever the chunk boundaries; malformed bodies refused."""

from __future__ import annotations

import json

import pytest

from adapters.base import AdapterError
from adapters.json_stream import data_items

ITEMS = [{"id": f"attr_{i}", "value": "é" * (i % 7), "valueNumber": 10 ** i + 0.5, "tags": [True, None]}
         for i in range(30)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 100_000])
@pytest.mark.parametrize("indent", [None, 2])
def test_items_come_out_whole_across_any_chunk_boundary(size: int, indent: int | None) -> None:
    body = json.dumps({"meta": {"total": 30}, "data": ITEMS, "after": [1, {"x": "]"}]}, indent=indent,
                      ensure_ascii=False).encode()
    chunks = [body[start:start + size] for start in range(0, len(body), size)]  # splits numbers and UTF-8 too
    assert list(data_items(chunks, what="list things")) == ITEMS


def test_an_empty_list_gives_nothing() -> None:
    assert list(data_items([b'{"data": [ ]}'], what="list things")) == []


@pytest.mark.parametrize("body", [b"", b"[]", b"<html>busy</html>", b'{"data": 3}', b'{"items": []}',
                                  b'{"data": [1, 2', b'{"data": [1,]}', b'{"data": []} trailing', b"{}"])
def test_a_body_that_is_not_a_data_list_is_refused(body: bytes) -> None:
    with pytest.raises(AdapterError, match="list things: the answer is not the JSON expected"):
        list(data_items([body], what="list things"))
