"""Real LibreOffice runs (slow): one page per form, the official wording and the values in
the PDF text, and the QR code read back from the rendered page with zxing-cpp.

Three soffice runs serve every assert: ``fanpin fill annex2 --pdf --merge`` (per-form
PDFs, then the merged PDF), and one conversion of merged annex 1/2/3 batches."""

from __future__ import annotations

import re

import pdfplumber
import pypdfium2 as pdfium
import pytest
import zxingcpp

from fanpin_forms.office.libreoffice import docx_to_pdf, page_count
from fanpin_forms.render.context import record_context, record_ident
from fanpin_forms.util.atomic import write_atomic
from fanpin_forms.render.fill import CompiledTemplate
from fanpin_forms.render.merge import render_merged
from fanpin_forms.pagemark import decode_payload
from fanpin_forms.render.template import build_template

from .test_render_samples import HOUSEHOLDS, YEAR, load, root, write_json

pytestmark = pytest.mark.slow

NAMES = ["张三&李四", "欧阳娜娜", "王䶮𠮷", "司马相如", "李<b>\"四\"'"]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def batch(app, tmp_path_factory):
    from click.testing import CliRunner

    tmp = tmp_path_factory.mktemp("pdf")
    data = write_json(tmp / "hh.json", HOUSEHOLDS)
    out = tmp / "out"
    result = CliRunner().invoke(root, ["fill", "annex2", "--data", str(data), "-o", str(out), "--year", str(YEAR),
                                       "--pdf", "--merge", str(tmp / "all.pdf")], obj=app)
    assert result.exit_code == 0, result.output
    # annex 1 and 3: a blank form and every household; annex 2: two blank forms — in one soffice run
    merged = {}
    expected = {}
    for form_id in ("annex1", "annex2", "annex3"):
        form = app.form(form_id)
        records = [] if form_id == "annex2" else load(app, form_id, tmp)
        ctxs = [record_context(form, None, app.county, YEAR, f"S:{form_id}-20220601-{n}", types=app.field_types)
                for n in (1, 2)][: 2 if form_id == "annex2" else 1]
        ctxs += [record_context(form, r, app.county, YEAR, record_ident(r), types=app.field_types) for r in records]
        path = tmp / f"{form_id}_batch.docx"
        write_atomic(path, render_merged(CompiledTemplate(build_template(form)), ctxs))
        merged[form_id] = path
        expected[form_id] = ctxs
    pdfs = dict(zip(merged, docx_to_pdf(list(merged.values()), tmp)))
    return {"out": out, "all": tmp / "all.pdf", "pdfs": pdfs, "expected": expected, "cli": result.output}


def pages_text(pdf) -> list[str]:
    with pdfplumber.open(str(pdf)) as doc:
        return [page.extract_text() or "" for page in doc.pages]


def qr_codes(pdf) -> list[list[str]]:
    doc = pdfium.PdfDocument(str(pdf))
    try:
        out = []
        for i in range(len(doc)):
            image = doc[i].render(scale=150 / 72).to_pil()
            out.append([r.text for r in zxingcpp.read_barcodes(image)])
        return out
    finally:
        doc.close()


def test_one_page_per_form(batch):
    for form_id, pdf in batch["pdfs"].items():
        assert page_count(pdf) == len(batch["expected"][form_id]), form_id
    assert page_count(batch["all"]) == len(HOUSEHOLDS)
    singles = sorted(batch["out"].glob("*.pdf"))
    assert len(singles) == len(HOUSEHOLDS) and all(page_count(p) == 1 for p in singles)
    assert f"已合并 {len(HOUSEHOLDS)} 页到" in batch["cli"] and f"已生成 {len(HOUSEHOLDS)} 份 PDF" in batch["cli"]


def test_qr_read_back_from_every_page_equals_its_payload(batch):
    for form_id, pdf in batch["pdfs"].items():
        found = qr_codes(pdf)
        assert found == [[ctx["qr_payload"]] for ctx in batch["expected"][form_id]], form_id
    merged = qr_codes(batch["all"])
    cases = [decode_payload(codes[0]).case_id for codes in merged]
    assert cases == [row["户编号"] for row in HOUSEHOLDS]  # the merged PDF keeps the data file's order


def test_official_wording_and_values_in_the_pdf_text(app, batch):
    for form_id, pdf in batch["pdfs"].items():
        form = app.form(form_id)
        texts = pages_text(pdf)
        for text, ctx in zip(texts, batch["expected"][form_id]):
            flat = squash(text)
            assert squash(form.title) in flat and squash(form.annex) in flat
            for stage in form.stages:
                assert squash(stage.title) in flat or all(part in flat for part in (stage.title[:3], stage.title[-2:]))
            assert "说明：" in flat and "监测户当年人均纯收入低于6900元" in flat
            assert "⑪因产业项目失败；⑫因务工就业不稳；⑬缺劳动力；⑭其他。" in flat
            if form.copies:
                assert squash(form.copies) in flat
            assert squash(ctx["ident_text"]) in flat
    annex3 = [squash(t) for t in pages_text(batch["pdfs"]["annex3"])]
    assert all("岳阳县（市、区）乡村振兴局（盖章）" in t for t in annex3)
    assert "村（居委会）支部书记（签字）：" in annex3[0]


def test_filled_values_exactly_including_escapes_and_rare_characters(batch):
    texts = [squash(t) for t in pages_text(batch["all"])]
    for text, row, name in zip(texts, HOUSEHOLDS, NAMES):
        assert squash(name) in text
        assert row["身份证号码"] in text
        others = [r["身份证号码"] for r in HOUSEHOLDS if r is not row]
        assert not any(o in text for o in others)
    assert "☑①☐②☑③" in texts[0] and "⑭（房屋倒塌）" in texts[0]
    assert "一二三四五六七八九十长村" in texts[1]  # 12-character village (suffix 村 printed by the form)
    assert "河<东>村" in texts[4]
    for annex in ("annex1", "annex3"):
        flat = [squash(t) for t in pages_text(batch["pdfs"][annex])]
        assert "王䶮𠮷" in flat[3] and "司马相如" in flat[4]


def test_per_form_pdf_matches_its_page_of_the_merged_pdf(batch):
    merged = [squash(t) for t in pages_text(batch["all"])]
    for pdf in batch["out"].glob("*.pdf"):
        single = squash(pages_text(pdf)[0])
        assert single in merged
