"""fanpin_forms.office.libreoffice against a real headless LibreOffice (run scripts/setup.sh first)."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path

import pdfplumber
import pytest
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from fanpin_forms.office import libreoffice as pdf
from fanpin_forms.errors import Code, RenderError

pytestmark = pytest.mark.slow

TITLE = "防止返贫监测对象信息采集表"
NAME = "张䶮"  # U+4DAE, CJK Extension A (a real given name)
ADDRESS = "湖南省岳阳市岳阳县荣家湾镇𠮷祥村"  # U+20BB7, Extension B (outside the BMP)
FANGSONG = "仿宋字体的说明文字"
PAGE_TWO = "第二页帮扶措施"
CJK_STRINGS = [TITLE, NAME, ADDRESS, FANGSONG, PAGE_TWO]


def _font(run, name: str, size: float = 12) -> None:
    run.font.size = Pt(size)
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def make_docx(path: Path, pages: int = 2) -> Path:
    """A small A4 form: title in 方正小标宋简体, fixed-layout table in 宋体, 仿宋 note."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    title = doc.add_paragraph()
    _font(title.add_run(TITLE), "方正小标宋简体", 18)
    table = doc.add_table(rows=2, cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for i, width in enumerate((Mm(40), Mm(120))):
        table.columns[i].width = width
        for cell in table.columns[i].cells:
            cell.width = width
    for row, (label, value) in zip(table.rows, [("户主姓名", NAME), ("家庭住址", ADDRESS)]):
        _font(row.cells[0].paragraphs[0].add_run(label), "宋体")
        _font(row.cells[1].paragraphs[0].add_run(value), "宋体")
    _font(doc.add_paragraph().add_run(FANGSONG), "仿宋_GB2312")
    for _ in range(pages - 1):
        para = doc.add_paragraph()
        para.paragraph_format.page_break_before = True
        _font(para.add_run(PAGE_TWO), "宋体")
    doc.save(path)
    return path


def _processes_mentioning(needle: str) -> list[str]:
    """Live (non-zombie) processes whose command line contains ``needle``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmdline and state != "Z":
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("pdf")
    src = make_docx(work / "表单.docx")
    [out] = pdf.docx_to_pdf([src], work / "out")
    return out


def test_fonts_conf_maps_song_names_to_noto_serif():
    env = {**os.environ, "FONTCONFIG_FILE": str(pdf.FONTS_CONF)}
    for name in ("宋体", "SimSun", "仿宋_GB2312", "方正小标宋简体", "楷体_GB2312"):
        got = subprocess.run(
            ["fc-match", name, "family"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        assert got == "Noto Serif CJK SC", name
    got = subprocess.run(
        ["fc-match", "黑体", "family"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert got == "Noto Sans CJK SC"


def test_find_soffice_finds_an_executable():
    path = pdf.find_soffice()
    assert os.access(path, os.X_OK)


def test_chinese_text_is_extracted_exactly(converted: Path):
    assert converted.name == "表单.pdf"
    assert pdf.page_count(converted) == 2
    with pdfplumber.open(converted) as doc:
        text = "\n".join(page.extract_text() or "" for page in doc.pages)
    for s in CJK_STRINGS:
        assert s in text


def test_cjk_glyphs_come_from_noto_serif_not_tofu(converted: Path):
    """Every CJK character (incl. 䶮 and 𠮷) is drawn with the Noto Serif CJK face."""
    with pdfplumber.open(converted) as doc:
        chars = [c for page in doc.pages for c in page.chars]
    cjk = [c for c in chars if ord(c["text"][0]) >= 0x3400]
    assert {c["text"] for c in cjk} >= {"䶮", "𠮷", "户", "仿"}
    wrong = {c["text"]: c["fontname"] for c in cjk if "NotoSerifCJK" not in c["fontname"]}
    assert not wrong


def test_noto_cjk_font_is_embedded(converted: Path):
    out = subprocess.run(
        ["pdffonts", str(converted)], capture_output=True, text=True, check=True
    ).stdout
    rows = out.splitlines()[2:]
    assert rows
    # columns: name type encoding emb sub uni object-id; the type may contain spaces
    embedded = {row.split()[0]: row.split()[-5] for row in rows}
    assert any(re.search(r"NotoSerifCJK", name) for name in embedded), out
    assert all(flag == "yes" for flag in embedded.values()), out


def test_many_files_in_one_call_keep_order(tmp_path: Path):
    sources = [make_docx(tmp_path / f"{n}号.docx", pages=n) for n in (1, 3, 2)]
    outs = pdf.docx_to_pdf(sources, tmp_path / "out")
    assert [p.name for p in outs] == ["1号.pdf", "3号.pdf", "2号.pdf"]
    assert [pdf.page_count(p) for p in outs] == [1, 3, 2]
    # no staging directories are left behind
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in outs)

    merged = pdf.merge_pdfs(outs, tmp_path / "合并" / "all.pdf")
    assert pdf.page_count(merged) == 6
    with pdfplumber.open(merged) as doc:
        first_of_second_file = doc.pages[1].extract_text()
    assert TITLE in first_of_second_file
    assert [p.name for p in merged.parent.iterdir()] == ["all.pdf"]


def test_two_concurrent_calls_do_not_collide(tmp_path: Path):
    src = make_docx(tmp_path / "a.docx", pages=1)
    results: dict[int, object] = {}

    def job(k: int) -> None:
        try:
            results[k] = pdf.docx_to_pdf([src], tmp_path / f"out{k}")
        except Exception as exc:  # noqa: BLE001 - reported below
            results[k] = exc

    threads = [threading.Thread(target=job, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in (0, 1):
        assert isinstance(results[k], list), results[k]
        assert pdf.page_count(results[k][0]) == 1


def test_timeout_kills_the_whole_process_group(tmp_path: Path, monkeypatch):
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))  # the profile goes here
    src = make_docx(tmp_path / "slow.docx", pages=1)

    with pytest.raises(RenderError) as info:
        pdf.docx_to_pdf([src], tmp_path / "out", timeout=0.01)

    [problem] = info.value.problems
    assert problem.code is Code.RENDER_TIMEOUT
    assert problem.message == Code.RENDER_TIMEOUT.format(seconds="0.01", files="slow.docx")
    assert _processes_mentioning(str(private_tmp)) == []
    assert list(private_tmp.iterdir()) == []  # throwaway profile removed
    assert list((tmp_path / "out").iterdir()) == []  # no staging dir, no PDF


def test_timeout_also_kills_grandchildren(tmp_path: Path, monkeypatch):
    """Like soffice -> oosplash -> soffice.bin: the worker is a grandchild."""
    marker = f"{os.getpid() % 1000}.{os.getpid()}"  # unique sleep duration
    fake = tmp_path / "soffice"
    fake.write_text(f"#!/bin/sh\nsleep {marker} &\nsh -c 'sleep {marker}; :'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(pdf, "find_soffice", lambda: str(fake))
    src = make_docx(tmp_path / "a.docx", pages=1)

    with pytest.raises(RenderError) as info:
        pdf.docx_to_pdf([src], tmp_path / "out", timeout=0.5)

    assert info.value.problems[0].code is Code.RENDER_TIMEOUT
    assert _processes_mentioning(f"sleep {marker}") == []


def test_missing_soffice(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    monkeypatch.setattr(pdf, "FALLBACK_LOCATIONS", ())
    with pytest.raises(RenderError) as info:
        pdf.find_soffice()
    assert info.value.problems[0].code is Code.RENDER_NO_LIBREOFFICE
    assert info.value.problems[0].message == Code.RENDER_NO_LIBREOFFICE.format(
        setup=pdf.SETUP_COMMAND
    )

    src = make_docx(tmp_path / "a.docx", pages=1)
    with pytest.raises(RenderError) as info:
        pdf.docx_to_pdf([src], tmp_path / "out")
    assert info.value.problems[0].code is Code.RENDER_NO_LIBREOFFICE


def test_unloadable_file_is_reported_and_nothing_is_written(tmp_path: Path):
    good = make_docx(tmp_path / "good.docx", pages=1)
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(RenderError) as info:
        pdf.docx_to_pdf([good, broken], tmp_path / "out")
    [problem] = info.value.problems
    assert problem.code is Code.RENDER_FAILED
    assert problem.context["files"] == "broken.docx"
    assert list((tmp_path / "out").iterdir()) == []


def test_input_errors_are_caught_before_starting_libreoffice(tmp_path: Path):
    with pytest.raises(RenderError) as info:
        pdf.docx_to_pdf([tmp_path / "nope.docx"], tmp_path / "out")
    assert info.value.problems[0].code is Code.RENDER_INPUT_MISSING

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = make_docx(tmp_path / "a" / "同名.docx", pages=1)
    two = make_docx(tmp_path / "b" / "同名.docx", pages=1)
    with pytest.raises(RenderError) as info:
        pdf.docx_to_pdf([one, two], tmp_path / "out")
    assert info.value.problems[0].code is Code.RENDER_DUPLICATE_NAME

    assert pdf.docx_to_pdf([], tmp_path / "out") == []


def test_unreadable_pdf(tmp_path: Path):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf")
    with pytest.raises(RenderError) as info:
        pdf.page_count(bad)
    assert info.value.problems[0].code is Code.RENDER_PDF_UNREADABLE
    with pytest.raises(RenderError) as info:
        pdf.merge_pdfs([bad], tmp_path / "out.pdf")
    assert info.value.problems[0].code is Code.RENDER_PDF_UNREADABLE
    assert list(tmp_path.iterdir()) == [bad]


def test_default_timeout_scales_with_batch_size():
    assert pdf.default_timeout(1) < pdf.default_timeout(100)
    assert pdf.default_timeout(100) >= 100 * pdf.TIMEOUT_PER_FILE_SECONDS
