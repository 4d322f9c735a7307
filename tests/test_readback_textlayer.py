"""PDFs with a text layer (exported from the DOCX) are read from their text, exactly,
without rendering a single page; the printed values are checked against the data file."""

from __future__ import annotations

import time

import pytest

from fanpin_forms.errors import Code

from .conftest import write_xlsx
from .test_readback_common import households, parse, print_forms, ticked

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def printed(app, tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    rows = households(3)
    pdf, data = print_forms(app, "annex2", folder / "annex2.pdf", rows, blanks=1)
    a1, _ = print_forms(app, "annex1", folder / "annex1.pdf", rows[:1])
    return pdf, a1, data, rows


def test_text_layer_values_are_exact_and_nothing_is_rendered(app, printed, monkeypatch):
    from fanpin_forms.readback import inputs as pages

    def no_render(self):
        raise AssertionError(f"{self.where} was rendered")

    monkeypatch.setattr(pages.Page, "image", property(no_render))
    pdf, a1, _, rows = printed
    result = parse(app, [pdf, a1])
    assert result.summary["recognised"] == 5 and result.summary["review"] == 0
    recs = {(r["form"], r["case_id"] or r["serial"]): r for r in result.records}
    for row in rows:
        rec = recs[("annex2", row["户编号"])]
        assert rec["identified_by"] == "qr" and rec["row"] is None
        assert rec["fields"] == {"head_name": row["户主姓名"], "household_size": "4", "id_number": row["身份证号码"],
                                 "address.county": "岳阳", "address.township": "荣家湾", "address.village": "杨林",
                                 "address.group": "三", "phone": row["联系电话"]}
    assert ticked(recs[("annex2", "T-002")]) == {("home_visit", "sanbaozhang"): [4], ("home_visit", "risk_types"): [7, 13],
                                                 ("village_review", "sanbaozhang"): [4],
                                                 ("village_review", "risk_types"): [7, 13]}
    blank = recs[("annex2", "annex2-20220601-1")]
    assert blank["fields"] == {} and ticked(blank) == {} and blank["case_id"] is None
    assert all(not st["signed"] and st["date"] is None for st in blank["stages"].values())
    one = recs[("annex1", "T-001")]
    assert ticked(one) == {(None, "sanbaozhang"): [1, 3], (None, "risk_types"): [6]}
    assert one["fields"]["head_name"] == "张三" and one["fields"]["address.city"] == "岳阳"
    assert list(one["stages"]) == ["applicant"]


def test_text_layer_speed(app, printed):
    """Well above 50 pages/s in one process (the pool only adds to it)."""
    import pypdfium2 as pdfium

    pdf, _, _, _ = printed
    parse(app, [pdf])  # warm: the blank forms are cached
    many = pdfium.PdfDocument.new()
    src = pdfium.PdfDocument(str(pdf))
    for _ in range(25):
        many.import_pages(src)
    path = pdf.with_name("many.pdf")
    many.save(str(path))
    start = time.perf_counter()
    result = parse(app, [path])
    rate = 100 / (time.perf_counter() - start)
    assert result.summary["pages"] == 100 and result.summary["duplicates"] == 96
    print(f"text layer: {rate:.0f} pages/s in one process")
    assert rate > 50


def test_printed_values_that_differ_from_the_data_file_are_flagged(app, printed, tmp_path):
    pdf, _, _, rows = printed
    changed = [dict(r) for r in rows]
    changed[0]["户主姓名"] = "张三丰"
    changed[1]["联系电话"] = "13907301111"
    del changed[2]  # T-003 is no longer in the data file
    data = write_xlsx(tmp_path / "changed.xlsx", changed)
    result = parse(app, [pdf], data=data)
    recs = {r["case_id"]: r for r in result.records if r["case_id"]}
    flags = {k: [(n["item"], n["why"]) for n in r["needs_review"]] for k, r in recs.items()}
    assert flags["T-001"] == [("field:head_name", Code.READ_FIELD_MISMATCH.format(
        label="户主姓名", value="张三", expected="张三丰"))]
    (item, why), = flags["T-002"]
    assert item == "field:phone" and rows[1]["联系电话"] not in why and "13907301111" not in why  # masked
    (item, why), = flags["T-003"]
    assert item == "identity" and "T-003" in why and "changed.xlsx" in why
    assert recs["T-001"]["fields"]["head_name"] == "张三"  # what the paper says, flagged
