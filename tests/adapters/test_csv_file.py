"""The CSV contact source: documented columns, attributes, segments, and precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.base import ContactSource, SourceFormatError
from adapters.csv_file import CsvContactSource, segment_id_for


def test_columns_aliases_attributes_and_segments() -> None:
    text = ("\ufeffFormbricks Contact ID,Custom ID,First Name,last_name,EMAIL,Segments,Plan,empty\n"
            "a,u-a,Ann,Lee,ann@x.org,Beta testers; VIP ,pro,\n"
            "b,,Bob,,,VIP,,\n\n")
    source = CsvContactSource(text=text)
    assert isinstance(source, ContactSource)
    ann, bob = list(source.contacts())
    fields = (ann.host_id, ann.custom_id, ann.first_name, ann.last_name, ann.email)
    assert fields == ("a", "u-a", "Ann", "Lee", "ann@x.org")
    assert ann.attributes == {"Plan": "pro"} and bob.attributes == {} and bob.custom_id is None
    segments = {segment.id: segment for segment in source.segments()}
    assert set(segments) == {"vip", "beta-testers"} and segments["vip"].title == "VIP"
    assert [s.id for s in ann.segments] == ["beta-testers", "vip"] and [s.id for s in bob.segments] == ["vip"]
    assert (ann.line, bob.line) == (2, 3)


def test_rows_are_read_as_a_stream(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,email\na,x\nb,y,extra\n", encoding="utf-8")
    contacts = CsvContactSource(path).contacts()
    assert next(contacts).host_id == "a"  # the first row arrives before the bad one is read
    with pytest.raises(SourceFormatError, match="line 3: 3 cells where the header has 2"):
        next(contacts)


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("email\nx@y\n", "line 1: no 'id' column"),
    ("id,email,Email\n", "line 1: column 'email' appears twice"),
    ("id,\n", "line 1: a column has an empty name"),
    ("id,email\na,x,extra\n", "line 2: 3 cells where the header has 2"),
    ("id,email\n,x\n", "line 2: empty id"),
    ('id,email\n"a,x\n', "malformed CSV"),
    ("id\x00,email\n", "NUL bytes"),
])
def test_malformed_files_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(SourceFormatError) as caught:
        list(CsvContactSource(text=text).contacts())
    assert message in str(caught.value)


def test_encoding_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes("id,name\na,ok\nb,J\xfcrgen\n".encode("latin-1"))
    with pytest.raises(SourceFormatError) as caught:
        list(CsvContactSource(path).contacts())
    assert str(caught.value) == "line 3: not UTF-8 text (save it as CSV UTF-8)"  # as every CSV says it


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match="cannot read"):
        CsvContactSource(tmp_path / "nope.csv")


def test_segment_ids_are_stable_slugs() -> None:
    assert segment_id_for("Beta Testers!") == "beta-testers"
    assert segment_id_for("***") == "segment"


@pytest.mark.parametrize("text, message", [
    ("id,segments\nz1,C++\nz2,C#\n", "line 3: segments 'C++' and 'C#' would share the id 'c': rename one"),
    ("id,segments\nz1,!!!\nz2,???\n", "line 3: segments '!!!' and '???' would share the id 'segment'"),
    ("id,segments\nz1," + "t" * 256 + "\n", "line 2: segment title longer than 255 characters"),
    ("id\n" + "i" * 256 + "\n", "line 2: id longer than 255 characters"),
])
def test_segment_ids_and_lengths_are_checked_with_their_line(text: str, message: str) -> None:
    with pytest.raises(SourceFormatError) as caught:
        list(CsvContactSource(text=text).contacts())
    assert message in str(caught.value)


def test_titles_in_any_script_keep_their_letters() -> None:
    assert segment_id_for("Café Owners") == "café-owners"
    assert segment_id_for("Kunden_2026") == "kunden-2026"


def test_endless_and_special_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match="not a regular file"):
        CsvContactSource("/dev/zero")
    with pytest.raises(SourceFormatError, match="not a regular file"):
        CsvContactSource(tmp_path)
