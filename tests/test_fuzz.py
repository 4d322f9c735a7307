"""Fuzzing the three parsers that take text from outside: whatever they are given, they
answer with their own error (a catalogue message) or a result, never another exception.

Bounded for CI: each property has a fixed ``max_examples`` and a per-example deadline;
the file runs in well under a minute.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanpin_forms.errors import DataError, ReadBackError, SpecError
from fanpin_forms.pagemark import Payload, decode_payload
from fanpin_forms.forms.spec import load_spec
from fanpin_forms.intake.tabular import SourceTable, read_table

from .test_hardening_caps import NS, write_book

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow],
                database=None)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One folder for the module: each example overwrites the previous one's file."""
    return tmp_path_factory.mktemp("fuzz")


def in_file(folder: Path, suffix: str, data: bytes) -> Path:
    path = folder / f"data{suffix}"
    path.write_bytes(data)
    return path


# --- the sheet reader -------------------------------------------------------------------------

@FUZZ
@given(suffix=st.sampled_from([".csv", ".xlsx", ".json", ".jsonl"]), data=st.binary(max_size=2000))
def test_sheet_reader_on_random_bytes(scratch, suffix, data):
    try:
        assert isinstance(read_table(in_file(scratch, suffix, data)), SourceTable)
    except DataError:
        pass


_CELL_TEXT = st.text(alphabet=st.sampled_from(list("户主姓名张三 ,\t\"\n\r=@-+0123456789X\u3000\ufeff")), max_size=12)


@FUZZ
@given(rows=st.lists(st.lists(_CELL_TEXT, max_size=6), max_size=12),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-16-le", "utf-16-be"]),
       delimiter=st.sampled_from([",", "\t"]))
def test_sheet_reader_on_random_csv(scratch, rows, encoding, delimiter):
    text = "\r\n".join(delimiter.join(r) for r in rows)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    try:
        read_table(in_file(scratch, ".csv", data))
    except DataError:
        pass


_ROW = st.one_of(st.integers(1, 2_000_000), st.just(300_000_000))
_COLUMN = st.sampled_from(["A", "B", "C", "Z", "AA", "IV", "IW", "XFD", "XFE", "ZZZ"])
_CELL = st.tuples(_COLUMN, _ROW, _CELL_TEXT, st.sampled_from(["inline", "number", "shared", "bool", "empty"]))


def _cell_xml(column: str, row: int, text: str, kind: str) -> str:
    ref = f"{column}{row}"
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace("\r", "&#13;")
    if kind == "inline":
        return f'<c r="{ref}" t="inlineStr"><is><t>{escaped}</t></is></c>'
    if kind == "number":
        return f'<c r="{ref}"><v>{escaped or "1"}</v></c>'
    if kind == "shared":
        return f'<c r="{ref}" t="s"><v>{len(text)}</v></c>'  # no shared strings part: an index into nothing
    if kind == "bool":
        return f'<c r="{ref}" t="b"><v>{escaped}</v></c>'
    return f'<c r="{ref}"/>'


@FUZZ
@given(cells=st.lists(_CELL, max_size=20), header=st.booleans())
def test_sheet_reader_on_random_small_xlsx(scratch, cells, header):
    rows: dict[int, list[str]] = {}
    for column, row, text, kind in cells:
        rows.setdefault(row, []).append(_cell_xml(column, row, text, kind))
    if header:
        rows.setdefault(1, []).insert(0, '<c r="A1" t="inlineStr"><is><t>户主姓名</t></is></c>'
                                         '<c r="B1" t="inlineStr"><is><t>身份证号码</t></is></c>')
    xml = "".join(f'<row r="{n}">{"".join(c)}</row>' for n, c in sorted(rows.items()))
    try:
        read_table(write_book(scratch / "a.xlsx", xml))
    except DataError:
        pass


@FUZZ
@given(value=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                                      max_size=4),
                          max_leaves=20))
def test_sheet_reader_on_random_json(scratch, value):
    try:
        read_table(in_file(scratch, ".json", json.dumps(value).encode()))
    except DataError:
        pass


# --- the spec loader ------------------------------------------------------------------------------

def tokens(*words: str, max_size: int) -> st.SearchStrategy[str]:
    """Strings made of whole tokens (single characters and keywords), to reach deeper than noise."""
    return st.lists(st.sampled_from(words), max_size=max_size).map("".join)


_YAMLISH = tokens(*"abc:-[]{}&*!<>|#'\"?,%@` \n\t", "form: ", "fields:\n", "  - key: ", "label: ", "type: ", "text",
                  "!!python/name:os.system", "<<: ", "&a ", "*a", "\n  ", "2022-02-30", "!!int ", "!!binary ",
                  "version: ", "codes:", "\x01", "\ufeff", max_size=60)


@pytest.fixture(scope="module")
def field_types(app):
    return app.field_types


@FUZZ
@given(text=_YAMLISH)
def test_spec_loader_on_random_yamlish_text(scratch, field_types, text):
    try:
        load_spec(in_file(scratch, ".yaml", text.encode("utf-8", "surrogatepass")), field_types)
    except SpecError:
        pass


# --- the QR payload parser -----------------------------------------------------------------------

_QRISH = st.one_of(st.text(max_size=80),
                   tokens(*"FP|:/%0123456789ABCDEFSR-ax ", "FPF1|", "annex2|", "C:", "1/1", "%FF", "%", max_size=40))


@FUZZ
@given(text=_QRISH)
def test_qr_payload_parser_on_random_strings(text):
    try:
        assert isinstance(decode_payload(text), Payload)
    except ReadBackError:
        pass


def test_the_fuzzed_xlsx_writer_makes_real_workbooks(tmp_path):
    """The builder used above makes files openpyxl itself reads (so the fuzz reaches the parser)."""
    book = write_book(tmp_path / "a.xlsx", '<row r="1"><c r="A1" t="inlineStr"><is><t>户主姓名</t></is></c>'
                                          '<c r="B1" t="inlineStr"><is><t>身份证号码</t></is></c></row>'
                                          '<row r="2"><c r="A2"><v>5</v></c></row>')
    assert zipfile.is_zipfile(book) and NS
    assert read_table(book).rows[0].cells == {"户主姓名": 5, "身份证号码": None}
