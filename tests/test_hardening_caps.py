"""Tiny hostile inputs stay tiny: every cap in ``fanpin_forms/limits.py`` is hit by a file
the test builds, through the real command where memory matters, and each ends in its
Chinese message, a non-zero exit and a bounded peak memory (measured in a child process)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

from fanpin_forms.util import limits
from fanpin_forms.cli import cli
from fanpin_forms.errors import Code, DataError, Location, Problem
from fanpin_forms.util.limits import human_bytes
from fanpin_forms.readback.inputs import FileFailure, Page, load_page, page_count
from fanpin_forms.intake.tabular import read_table

from .conftest import TEST_ENV, household

#: what a hostile input may cost the command, peak resident memory
PEAK_MB = 400

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
HEADERS = ["户主姓名", "身份证号码", "联系电话"]


# --- running the real command, measured ------------------------------------------------------

_MEASURE = """
import resource, subprocess, sys
limit = 3 * 1024 ** 3  # a regression fails fast instead of taking the shared machine's memory
child = subprocess.run(sys.argv[2:], capture_output=True, text=True,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(sys.argv[1], "w").write(f"{child.returncode}\\n{peak_kb}\\n" + child.stdout + child.stderr)
"""


def fanpin(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, int, str]:
    """Run ``fanpin ARGS`` in a fresh process: (exit code, peak RSS in MB, output)."""
    report = tmp_path / "measured.txt"
    full = {k: v for k, v in os.environ.items() if not k.startswith("FANPIN_FORMS_") or k in TEST_ENV}
    full.update(PYTHONIOENCODING="utf-8", **(env or {}))
    subprocess.run([sys.executable, "-c", _MEASURE, str(report), sys.executable, "-m", "fanpin_forms", *args],
                   env=full, cwd=tmp_path, check=True, timeout=300)
    code, peak_kb, output = report.read_text(encoding="utf-8").split("\n", 2)
    return int(code), int(peak_kb) // 1024, output


def problem_line(where: Location, code: Code, **context: object) -> str:
    return str(Problem(code, context, where))


# --- hand-made workbooks -----------------------------------------------------------------------


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def header_row() -> str:
    return '<row r="1">' + "".join(inline(f"{c}1", h) for c, h in zip("ABC", HEADERS)) + "</row>"


def write_book(path: Path, rows_xml: str, *, sheet_xml: str | None = None, extra: dict[str, bytes] | None = None,
               ) -> Path:
    """A minimal .xlsx (one sheet 「台账」) whose sheet XML is written by hand: openpyxl
    cannot write a cell in XFD without padding or a row numbered 300,000,000."""
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        '</Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{NS}" xmlns:r="http://schemas.openxmlformats.'
        'org/officeDocument/2006/relationships"><sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets>'
        '</workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{RELS}"><Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet_xml or f'<?xml version="1.0"?><worksheet xmlns="{NS}"><sheetData>'
        f'{rows_xml}</sheetData></worksheet>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def lie_about_size(path: Path, name: str, size: int) -> None:
    """Make the zip's local and central headers claim ``size`` bytes for entry ``name``."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = data.find(signature)
        while at >= 0:
            if data[at + name_at:at + name_at + len(encoded)] == encoded:
                data[at + size_at:at + size_at + 4] = struct.pack("<I", size)
            at = data.find(signature, at + 1)
    path.write_bytes(bytes(data))


# --- sheets -----------------------------------------------------------------------------------------


def test_stray_cells_in_column_xfd_are_refused_without_padding(tmp_path):
    rows = "".join(f'<row r="{r}">{inline(f"A{r}", "张三")}{inline(f"XFD{r}", "x")}</row>' for r in range(2, 20002))
    book = write_book(tmp_path / "台账.xlsx", header_row() + rows)
    assert book.stat().st_size < 200_000  # was 5 GB of padding
    code, peak, output = fanpin(tmp_path, "validate", "annex2", "--data", book.name)
    assert code == 1, output
    assert problem_line(Location(file=book.name, sheet="台账", row=2), Code.DATA_TOO_MANY_COLUMNS,
                        column="XFD", max=limits.SHEET_MAX_COLUMNS) in output
    assert "Traceback" not in output
    assert peak < PEAK_MB, peak


def test_blank_cells_in_column_xfd_cost_nothing(tmp_path):
    """Whitespace-only cells far right (a clerk's stray space) are ignored, not padded."""
    rows = "".join(f'<row r="{r}">{inline(f"A{r}", f"户主{r}")}{inline(f"XFD{r}", "　")}</row>'
                   for r in range(2, 20002))
    book = write_book(tmp_path / "a.xlsx", header_row() + rows)
    table = read_table(book)
    assert table.headers == HEADERS
    assert len(table.rows) == 20000
    assert table.rows[0].number == 2 and table.rows[0].cells["户主姓名"] == "户主2"


def test_a_row_numbered_300_million_is_refused_at_once(tmp_path):
    rows = f'<row r="2">{inline("A2", "张三")}</row><row r="300000000">{inline("A300000000", "李四")}</row>'
    book = write_book(tmp_path / "far.xlsx", header_row() + rows)
    code, peak, output = fanpin(tmp_path, "validate", "annex2", "--data", book.name)
    assert code == 1, output
    assert problem_line(Location(file=book.name, sheet="台账"), Code.DATA_BEYOND_EXCEL, cell="A300000000",
                        rows=limits.EXCEL_MAX_ROW, columns="XFD") in output
    assert peak < PEAK_MB, peak  # was 2.4 GB of empty rows


def test_a_far_row_within_excel_keeps_its_number_and_allocates_nothing_between(tmp_path):
    rows = f'<row r="2">{inline("A2", "张三")}</row><row r="1048576">{inline("A1048576", "李四")}</row>'
    book = write_book(tmp_path / "far.xlsx", header_row() + rows)
    table = read_table(book)
    assert [(r.number, r.cells["户主姓名"]) for r in table.rows] == [(2, "张三"), (1048576, "李四")]


def test_rows_columns_and_cells_caps(tmp_path, monkeypatch):
    rows = "".join(f'<row r="{r}">{inline(f"A{r}", "张三")}{inline(f"C{r}", "1")}</row>' for r in range(2, 12))
    book = write_book(tmp_path / "a.xlsx", header_row() + rows)
    monkeypatch.setattr(limits, "SHEET_MAX_ROWS", 5)
    with pytest.raises(DataError) as exc:
        read_table(book)
    assert str(exc.value) == problem_line(Location(file=str(book), sheet="台账"), Code.DATA_TOO_MANY_ROWS, max=5)
    monkeypatch.setattr(limits, "SHEET_MAX_ROWS", 100)
    monkeypatch.setattr(limits, "SHEET_MAX_COLUMNS", 2)
    with pytest.raises(DataError) as exc:
        read_table(book)
    assert str(exc.value) == problem_line(Location(file=str(book), sheet="台账", row=1), Code.DATA_TOO_MANY_COLUMNS,
                                          column="C", max=2)
    monkeypatch.setattr(limits, "SHEET_MAX_COLUMNS", 100)
    monkeypatch.setattr(limits, "SHEET_MAX_CELLS", 10)
    with pytest.raises(DataError) as exc:
        read_table(book)
    assert str(exc.value) == problem_line(Location(file=str(book), sheet="台账"), Code.DATA_TOO_MANY_CELLS, max=10)


def test_an_xlsx_zip_bomb_is_refused_before_unpacking(tmp_path):
    padding = " " * (16 * 1024 * 1024)  # 16 MiB of whitespace packs to ~16 KiB
    sheet = f'<?xml version="1.0"?><worksheet xmlns="{NS}"><sheetData>{header_row()}</sheetData>{padding}</worksheet>'
    book = write_book(tmp_path / "bomb.xlsx", "", sheet_xml=sheet)
    assert book.stat().st_size < 100_000
    code, peak, output = fanpin(tmp_path, "validate", "annex2", "--data", book.name)
    assert code == 1, output
    assert f"{book.name}: 文件解压后过大，可能是被恶意构造的文件，已拒绝打开：其中「xl/worksheets/sheet1.xml」的压缩比为" in output
    assert f"上限 {limits.ZIP_MAX_RATIO}:1" in output
    assert peak < PEAK_MB, peak


def test_a_zip_that_understates_an_entry_is_read_no_further_than_stated(tmp_path):
    rows = "".join(f'<row r="{r}">{inline(f"A{r}", f"户主{r}")}</row>' for r in range(2, 50002))
    book = write_book(tmp_path / "lie.xlsx", header_row() + rows)
    lie_about_size(book, "xl/worksheets/sheet1.xml", 1000)
    with pytest.raises(DataError) as exc:
        read_table(book)
    assert [p.code for p in exc.value.problems] == [Code.DATA_FILE_UNREADABLE]


def test_too_many_zip_entries_and_declared_sizes(tmp_path, monkeypatch):
    book = write_book(tmp_path / "many.xlsx", header_row(), extra={f"x/{i}.xml": b"<a/>" for i in range(30)})
    monkeypatch.setattr(limits, "ZIP_MAX_ENTRIES", 20)
    with pytest.raises(DataError) as exc:
        read_table(book)
    assert str(exc.value) == problem_line(Location(file=str(book)), Code.DATA_ZIP_LIMIT,
                                          why="压缩包内有 35 个条目，上限 20 个")
    monkeypatch.setattr(limits, "ZIP_MAX_ENTRIES", 5000)
    lie_about_size(book, "x/0.xml", 3 * 1024 ** 3)  # claims 3 GB
    with pytest.raises(DataError) as exc:
        read_table(book)
    assert str(exc.value) == problem_line(Location(file=str(book)), Code.DATA_ZIP_LIMIT,
                                          why="其中「x/0.xml」解压后有 3 GB，单个条目上限 512 MB")


def test_data_file_size_cap(tmp_path, monkeypatch):
    path = tmp_path / "a.csv"
    path.write_text("户主姓名,身份证号码\n" + "张三,1\n" * 1000, encoding="utf-8")
    monkeypatch.setattr(limits, "DATA_MAX_BYTES", 1024)
    with pytest.raises(DataError) as exc:
        read_table(path)
    assert str(exc.value) == problem_line(Location(file=str(path)), Code.DATA_FILE_TOO_LARGE,
                                          size=human_bytes(path.stat().st_size), kind="CSV 数据文件", max="1 KB")


def test_caps_can_be_set_by_environment(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("户主姓名,身份证号码\n" + "张三,1\n" * 5, encoding="utf-8")
    code, _, output = fanpin(tmp_path, "validate", "annex2", "--data", path.name,
                             env={"FANPIN_FORMS_MAX_SHEET_ROWS": "3"})
    assert code == 1
    assert problem_line(Location(file=path.name), Code.DATA_TOO_MANY_ROWS, max=3) in output


# --- CSV: UTF-16 and caps --------------------------------------------------------------------------


def unicode_text(rows: list[list[str]]) -> str:
    """What Excel's "Unicode text" export holds: tab-separated, CRLF."""
    return "".join("\t".join(r) + "\r\n" for r in rows)


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                           ("utf-16-le", b"")])
def test_utf16_unicode_text_is_read(tmp_path, encoding, bom):
    path = tmp_path / "a.csv"
    path.write_bytes(bom + unicode_text([["户主姓名", "身份证号码"], ["张三", "43062119900307123X"]]).encode(encoding))
    table = read_table(path)
    assert table.headers == ["户主姓名", "身份证号码"]
    assert table.rows[0].number == 2
    assert table.rows[0].cells == {"户主姓名": "张三", "身份证号码": "43062119900307123X"}


def test_utf16_csv_validates_through_the_command(tmp_path):
    row = household()
    path = tmp_path / "台账.csv"
    path.write_bytes(b"\xff\xfe" + unicode_text([list(row), [str(v) for v in row.values()]]).encode("utf-16-le"))
    code, _, output = fanpin(tmp_path, "validate", "annex2", "--data", path.name)
    assert code == 0, output


def test_an_unreadable_encoding_names_utf16(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xff\xfe\xff\xff,\x80\x80\n")
    with pytest.raises(DataError) as exc:
        read_table(path)
    assert "UTF-16" in str(exc.value)


def test_csv_and_json_caps(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "SHEET_MAX_COLUMNS", 3)
    path = tmp_path / "a.csv"
    path.write_text("户主姓名,身份证号码\n张三,1,,,x\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_table(path)
    assert str(exc.value) == problem_line(Location(file=str(path), row=2), Code.DATA_TOO_MANY_COLUMNS,
                                          column="E", max=3)
    data = tmp_path / "a.json"
    data.write_text(json.dumps([{f"k{i}": 1} for i in range(5)]), encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_table(data)
    assert str(exc.value) == problem_line(Location(file=str(data)), Code.DATA_JSON_TOO_MANY_KEYS, count=5, max=3)
    monkeypatch.setattr(limits, "SHEET_MAX_ROWS", 2)
    with pytest.raises(DataError) as exc:
        read_table(data)
    assert [p.code for p in exc.value.problems] == [Code.DATA_TOO_MANY_ROWS]
    data.write_text("[" + ",".join(["{}"] * 20) + "]", encoding="utf-8")  # 21 containers, cap 10 × 2
    with pytest.raises(DataError) as exc:
        read_table(data)
    assert str(exc.value) == problem_line(Location(file=str(data)), Code.DATA_JSON_TOO_MANY_VALUES, max=20)


# --- scans --------------------------------------------------------------------------------------------


def write_pdf(path: Path, page: bytes, *objects: bytes, content: bytes = b"") -> Path:
    """A one-page PDF; ``page`` is the page dictionary's extra entries, objects 5.. follow."""
    stream = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R " + page + b" >>", stream, *objects]
    body, offsets = b"%PDF-1.4\n", []
    for n, obj in enumerate(objs, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(body)
    return path


def write_png(path: Path, width: int, height: int) -> Path:
    """A white 1-bit PNG of any size: a few hundred KB for 20000×20000."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def test_an_oversized_pdf_page_is_a_failed_page_not_gigabytes(tmp_path):
    pdf = write_pdf(tmp_path / "big.pdf", b"/MediaBox [0 0 14400 14400]")
    assert pdf.stat().st_size < 600
    code, peak, output = fanpin(tmp_path, "parse", pdf.name, "-o", "out.jsonl", "-j", "1")
    assert code == 1, output
    reason = Code.READ_PAGE_TOO_LARGE.format(width=5080, height=5080, dpi=limits.PAGE_MIN_DPI, pixels=40000,
                                             max=limits.PAGE_MAX_PIXELS // 10_000)
    assert f"{pdf.name} 第1页: {reason}" in output
    assert "Traceback" not in output
    assert peak < PEAK_MB, peak  # was 4.75 GB


def test_a_large_pdf_page_is_rendered_at_a_lower_dpi_within_the_cap(tmp_path):
    pdf = write_pdf(tmp_path / "a2.pdf", b"/MediaBox [0 0 3000 3000]")  # 1058 mm square
    page = load_page(pdf, 1)
    assert isinstance(page, Page)
    assert limits.PAGE_MIN_DPI <= page.dpi < 200
    width, height = page.image.size
    assert width * height <= limits.PAGE_MAX_PIXELS


def test_a_huge_picture_on_a_pdf_page_is_not_decoded(tmp_path):
    image = b"<< /Type /XObject /Subtype /Image /Width 20000 /Height 20000 /ColorSpace /DeviceGray " \
            b"/BitsPerComponent 8 /Length 1 >>\nstream\n\x00\nendstream"
    pdf = write_pdf(tmp_path / "pic.pdf", b"/MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >>",
                    image, content=b"q 20 0 0 20 10 10 cm /Im0 Do Q")
    page = load_page(pdf, 1)
    assert isinstance(page, FileFailure) and page.page == 1
    assert page.problem.message == Code.READ_IMAGE_TOO_LARGE.format(
        size="20000×20000 像素，40000 万像素", max=limits.IMAGE_MAX_PIXELS // 10_000)


def test_a_20000_square_png_is_refused_from_its_header(tmp_path):
    png = write_png(tmp_path / "big.png", 20000, 20000)
    assert png.stat().st_size < 600_000
    code, peak, output = fanpin(tmp_path, "parse", png.name, "-o", "out.jsonl", "-j", "1")
    assert code == 1, output
    reason = Code.READ_IMAGE_TOO_LARGE.format(size="40000 万像素", max=limits.IMAGE_MAX_PIXELS // 10_000)
    assert f"{png.name}: {reason}" in output
    assert peak < PEAK_MB, peak  # was 3.6 GB


def test_an_image_just_over_the_cap_names_its_size(tmp_path):
    png = write_png(tmp_path / "big.png", 9000, 9000)
    page = load_page(png, 1)
    assert isinstance(page, FileFailure)
    assert page.problem.message == Code.READ_IMAGE_TOO_LARGE.format(
        size="9000×9000 像素，8100 万像素", max=limits.IMAGE_MAX_PIXELS // 10_000)


def test_frame_and_file_size_caps(tmp_path, monkeypatch):
    tiff = tmp_path / "many.tif"
    frames = [Image.new("L", (20, 20), 255) for _ in range(5)]
    frames[0].save(tiff, save_all=True, append_images=frames[1:])
    assert page_count(tiff) == 5
    monkeypatch.setattr(limits, "SCAN_MAX_PAGES_PER_FILE", 3)
    failure = page_count(tiff)
    assert isinstance(failure, FileFailure)
    assert failure.problem.message == Code.READ_TOO_MANY_PAGES.format(max=3)
    monkeypatch.setattr(limits, "SCAN_IMAGE_MAX_BYTES", 100)
    failure = page_count(tiff)
    assert isinstance(failure, FileFailure)
    assert failure.problem.code == Code.READ_FILE_TOO_LARGE
    assert failure.problem.context["max"] == "100 字节"


# --- specs --------------------------------------------------------------------------------------------

LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


def test_a_billion_laughs_spec_is_refused_at_its_first_anchor(tmp_path):
    spec = tmp_path / "laughs.yaml"
    spec.write_text(LAUGHS, encoding="utf-8")
    assert spec.stat().st_size < 400
    code, peak, output = fanpin(tmp_path, "spec", "check", spec.name)
    assert code == 1, output
    assert problem_line(Location(file=spec.name, line=1, column=4), Code.SPEC_YAML_ALIAS, text="&a") in output
    assert "Traceback" not in output
    assert peak < PEAK_MB, peak  # was 5.9 GB, then a traceback


@pytest.mark.parametrize("text, line, column, code, context", [
    ("form: demo\nb: *nowhere\n", 2, 4, Code.SPEC_YAML_ALIAS, {"text": "*nowhere"}),
    ("form: demo\nbase: {a: 1}\nother:\n  <<: {a: 2}\n", 4, 3, Code.SPEC_YAML_MERGE, {}),
    ("form: !!python/name:os.system\n", 1, 7, Code.SPEC_YAML_TAG, {"tag": "!!python/name:os.system"}),
    ("form: !!python/object/apply:os.system [ls]\n", 1, 7, Code.SPEC_YAML_TAG,
     {"tag": "!!python/object/apply:os.system"}),
    ("form: !custom x\n", 1, 7, Code.SPEC_YAML_TAG, {"tag": "!custom"}),
    ("form: !!binary aGk=\n", 1, 7, Code.SPEC_YAML_TAG, {"tag": "!!binary"}),
    ("a: " + "[" * 10000 + "]" * 10000 + "\n", 1, 4 + limits.YAML_MAX_DEPTH - 1, Code.SPEC_YAML_DEPTH,
     {"max": limits.YAML_MAX_DEPTH}),
    ("a: !!int abc\n", 1, 4, Code.SPEC_YAML, {"problem": "「abc」不是有效的整数"}),
    ("a: 2022-02-30\n", 1, 4, Code.SPEC_YAML, {"problem": "「2022-02-30」不是有效的日期"}),
    ("a: b\nc: \x01\n", 2, 4, Code.SPEC_YAML, {"problem": "不允许的控制字符 U+0001"}),
])
def test_yaml_beyond_plain_data_is_a_spec_error_at_its_position(tmp_path, runner, text, line, column, code,
                                                                 context):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text, encoding="utf-8")
    result = runner.invoke(cli, ["spec", "check", str(spec)])
    assert result.exit_code == 1, result.output
    assert problem_line(Location(file=str(spec), line=line, column=column), code, **context) in result.output
    assert "Traceback" not in result.output


def test_deep_block_nesting_and_file_size(tmp_path, runner, monkeypatch):
    spec = tmp_path / "deep.yaml"
    spec.write_text("a:\n" + "".join("  " * i + "- \n" for i in range(1, 500)), encoding="utf-8")
    result = runner.invoke(cli, ["spec", "check", str(spec)])
    assert result.exit_code == 1
    assert Code.SPEC_YAML_DEPTH.format(max=limits.YAML_MAX_DEPTH) in result.output
    monkeypatch.setattr(limits, "SPEC_MAX_BYTES", 100)
    spec.write_text("# " + "x" * 200 + "\nform: demo\n", encoding="utf-8")
    result = runner.invoke(cli, ["spec", "check", str(spec)])
    assert result.exit_code == 1
    assert problem_line(Location(file=str(spec)), Code.SPEC_FILE_TOO_LARGE, size="214 字节", max="100 字节") \
        in result.output


def test_plain_equals_and_double_angle_values_stay_text(tmp_path, app):
    from fanpin_forms.forms.yamlpos import load_yaml

    spec = tmp_path / "a.yaml"
    spec.write_text("a: =\nb: <<\n", encoding="utf-8")
    assert load_yaml(spec) == {"a": "=", "b": "<<"}


def test_every_cap_is_in_the_docs():
    import re

    source = Path(limits.__file__).read_text(encoding="utf-8")
    docs = (Path(__file__).resolve().parent.parent / "docs" / "limits.md").read_text(encoding="utf-8")
    names = re.findall(r'_cap\("(\w+)"', source)
    assert len(names) >= 19
    assert [n for n in names if f"`{n}`" not in docs] == []
