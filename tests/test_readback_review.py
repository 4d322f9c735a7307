"""The review queue: review.html (escaped, masked, lowest confidence first, crops inside),
and ``fanpin review apply`` with the corrections exported from it or typed by hand."""

from __future__ import annotations

import csv
import json
import re

import pytest

from fanpin_forms.cli import cli
from fanpin_forms.errors import Code

from .conftest import write_xlsx
from .test_readback_common import geometry, households, parse, print_forms, save_png, scan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reviewed(app, tmp_path_factory):
    """A text-layer PDF checked against a data file that changed since printing, and a
    scan of a blank form with a struck-through box: three review items."""
    folder = tmp_path_factory.mktemp("review")
    rows = households(2)
    pdf, _ = print_forms(app, "annex2", folder / "printed.pdf", rows, blanks=2)
    changed = [dict(r) for r in rows]
    changed[0]["户主姓名"] = "<b>张三</b>"
    from fanpin_forms.privacy.idcard import check_char

    first17 = changed[1]["身份证号码"][:14] + "999"
    changed[1]["身份证号码"] = first17 + check_char(first17)
    data = write_xlsx(folder / "changed.xlsx", changed)
    geo = geometry(app, pdf, "annex2", 4)
    box = next(b for b in geo.boxes if b.stage == "home_visit" and b.code == 8)
    img = scan(pdf, 4, draw=lambda pen: (pen.tick(box.rect), pen.strike(box.rect)))
    png = save_png(img, folder / "scan.png", 200)
    import pypdfium2 as pdfium  # the printed PDF without its page 4 (that one comes back scanned)

    src, first3 = pdfium.PdfDocument(str(pdf)), pdfium.PdfDocument.new()
    first3.import_pages(src, [0, 1, 2])
    pdf = folder / "printed-1-3.pdf"
    first3.save(str(pdf))
    review = folder / "review"
    out = folder / "records.jsonl"
    result = parse(app, [pdf, png], data=data, review_dir=review)
    from fanpin_forms.readback.records_io import write_records

    write_records(out, result.records)
    return result, review, out, rows, changed


def _items(records):
    return {(r["case_id"] or r["serial"], n["item"]): n for r in records for n in r["needs_review"]}


def test_review_page_lists_every_item_escaped_and_masked(reviewed):
    result, review, _, rows, changed = reviewed
    items = _items(result.records)
    assert set(items) == {("T-001", "field:head_name"), ("T-002", "field:id_number"),
                          ("annex2-20220601-2", "codes:risk_types")}
    assert [n["id"] for r in result.records for n in r["needs_review"]] == ["R0001", "R0002", "R0003"]
    struck = items[("annex2-20220601-2", "codes:risk_types")]
    assert struck["crop"] == f"crops/{struck['id']}.png" and (review / struck["crop"]).is_file()
    html = (review / "review.html").read_text(encoding="utf-8")
    assert "<b>张三</b>" not in html and "&lt;b&gt;张三&lt;/b&gt;" in html
    for secret in (rows[1]["身份证号码"], changed[1]["身份证号码"]):
        assert secret not in html  # neither the printed nor the data file's ID number
    assert "data:image/png;base64," in html  # self-contained: the crops are inside
    order = [m for m in re.findall(r'<tr data-id="(R\d{4})"', html)]
    confidences = {n["id"]: n["confidence"] for n in items.values()}
    assert order == sorted(order, key=lambda i: (confidences[i], i))
    assert "导出更正表" in html and "<script>" in html


def test_corrections_are_applied_and_bad_ones_refused(app, reviewed, tmp_path, runner):
    result, _, out, rows, _ = reviewed
    items = _items(result.records)
    head, ident, codes = (items[k]["id"] for k in [("T-001", "field:head_name"), ("T-002", "field:id_number"),
                                                     ("annex2-20220601-2", "codes:risk_types")])
    bad = tmp_path / "bad.csv"
    with bad.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([["条目编号", "更正值"], [head, "张三"], ["R9999", "x"], [codes, "⑳"]])
    before = out.read_bytes()
    res = runner.invoke(cli, ["review", "apply", str(bad), "-o", str(out)], obj=app)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert Code.READ_REVIEW_UNKNOWN_ID.format(row=3, id="R9999", hint="") in res.output
    assert f"第 4 行（{codes}，codes:risk_types）" in res.output
    assert out.read_bytes() == before  # nothing written

    good = tmp_path / "good.csv"
    with good.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([["条目编号", "更正值"], [head, "张三"], [codes, "无"], [ident.lower(), ""]])
    fixed = tmp_path / "fixed.jsonl"
    res = runner.invoke(cli, ["review", "apply", str(good), "-o", str(fixed), "--records", str(out)], obj=app)
    assert res.exit_code == 0, res.output
    assert "已应用 2 条更正" in res.output and "还有 1 项待复核" in res.output
    recs = {r["case_id"] or r["serial"]: r for r in map(json.loads, fixed.read_text(encoding="utf-8").splitlines())}
    assert recs["T-001"]["fields"]["head_name"] == "张三" and recs["T-001"]["needs_review"] == []
    assert recs["T-001"]["corrections"][0]["id"] == head
    blank = recs["annex2-20220601-2"]
    assert blank["stages"]["home_visit"]["codes"]["risk_types"] == [] and blank["needs_review"] == []
    assert [n["id"] for n in recs["T-002"]["needs_review"]] == [ident]  # an empty cell corrects nothing

    # an .xlsx typed by hand, applied in place: a valid ID number is taken, a bad one refused
    sheet = write_xlsx(tmp_path / "typed.xlsx", [{"条目编号": ident, "更正值": rows[1]["身份证号码"][:-1] + "0"}])
    from fanpin_forms.errors import ReadBackError
    from fanpin_forms.readback.records_io import read_records
    from fanpin_forms.readback.review import apply_corrections, read_corrections

    with pytest.raises(ReadBackError) as err:
        apply_corrections(app.read_setup(), read_records(fixed), read_corrections(sheet))
    assert "校验位" in str(err.value) and rows[1]["身份证号码"][:-1] not in str(err.value)  # masked
    sheet = write_xlsx(tmp_path / "typed.xlsx", [{"条目编号": ident, "更正值": rows[1]["身份证号码"]}])
    res = runner.invoke(cli, ["review", "apply", str(sheet), "-o", str(fixed)], obj=app)
    assert res.exit_code == 0, res.output
    recs = [json.loads(line) for line in fixed.read_text(encoding="utf-8").splitlines()]
    assert sum(len(r["needs_review"]) for r in recs) == 0


def test_a_sheet_without_the_columns_is_refused(app, reviewed, tmp_path, runner):
    _, _, out, _, _ = reviewed
    sheet = tmp_path / "wrong.csv"
    sheet.write_text("编号,值\nR0001,张三\n", encoding="utf-8")
    res = runner.invoke(cli, ["review", "apply", str(sheet), "-o", str(out)], obj=app)
    assert res.exit_code == 1 and Code.READ_REVIEW_NO_COLUMNS.format(path=str(sheet)) in res.output
