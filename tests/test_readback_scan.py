"""Image scans read back: identity whatever the orientation, and what people put on paper.

Real parts throughout: forms printed by LibreOffice from the spec templates, rasterised
with pdfium, drawn on, skewed, turned and JPEG-compressed; zxing for the QR code,
rapidocr for dates and printed values.
"""

from __future__ import annotations

import datetime as dt

import pytest

from .test_readback_common import (geometry, households, only_record, parse, print_forms, save_pdf, save_png, scan,
                                   ticked)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def annex2(app, tmp_path_factory):
    """annex2: pages 1–2 pre-filled (T-001 张三 ①③/⑥, T-002 李建国 ④/⑦⑬), page 3 blank."""
    folder = tmp_path_factory.mktemp("annex2")
    pdf, data = print_forms(app, "annex2", folder / "annex2.pdf", households(2), blanks=1)
    return pdf, data


@pytest.fixture(scope="module")
def annex1_and_3(app, tmp_path_factory):
    folder = tmp_path_factory.mktemp("annex13")
    a1, _ = print_forms(app, "annex1", folder / "annex1.pdf", blanks=1)
    a3, _ = print_forms(app, "annex3", folder / "annex3.pdf", blanks=1)
    return a1, a3


@pytest.mark.parametrize("dpi, turn, skew", [
    (200, 0, 0.0), (200, 90, 0.0), (200, 180, 0.0), (200, 270, 0.0),
    (150, 0, 2.0), (150, 90, -2.0), (300, 180, 2.0), (300, 270, -2.0),
])
def test_identity_whatever_the_orientation(app, annex2, tmp_path, dpi, turn, skew):
    pdf, _ = annex2
    path = save_png(scan(pdf, 2, dpi=dpi, turn=turn, skew=skew, jpeg=75), tmp_path / "p.png", dpi)
    result = parse(app, [path])
    rec = only_record(result)
    assert (rec["form"], rec["case_id"], rec["identified_by"]) == ("annex2", "T-002", "qr")
    assert result.summary["recognised"] == 1 and result.pages[0]["status"] == "recognised"
    # and the page was aligned well enough to read its printed ticks exactly
    assert ticked(rec) == {("home_visit", "sanbaozhang"): [4], ("home_visit", "risk_types"): [7, 13],
                           ("village_review", "sanbaozhang"): [4], ("village_review", "risk_types"): [7, 13]}
    assert not [n for n in rec["needs_review"] if n["item"].startswith("codes")], rec["needs_review"]


def test_pages_out_of_order_twice_and_mixed_with_other_paper(app, annex2, tmp_path):
    from PIL import Image

    pdf, _ = annex2
    photo = Image.effect_mandelbrot((1240, 1754), (-2.2, -1.2, 0.8, 1.2), 60).convert("RGB")
    pages = [scan(pdf, 3, turn=180), photo, scan(pdf, 2), scan(pdf, 1, turn=90), scan(pdf, 2, skew=1.0)]
    result = parse(app, [save_pdf(pages, tmp_path / "pile.pdf")])
    s = result.summary
    assert (s["pages"], s["recognised"], s["foreign"], s["duplicates"], s["failed"]) == (5, 3, 1, 1, 0)
    assert [p["status"] for p in result.pages] == ["recognised", "foreign", "recognised", "recognised", "duplicate"]
    assert [(r["case_id"] or r["serial"]) for r in result.records] == ["annex2-20220601-1", "T-002", "T-001"]
    assert [r["source"]["pages"] for r in result.records] == [[1], [3], [4]]
    assert "重复" in result.pages[4]["why"] and "第3页" in result.pages[4]["why"]


def test_a_drawn_tick_is_read_in_its_stage_field_and_code_only(app, annex2, tmp_path):
    pdf, _ = annex2
    geo = geometry(app, pdf, "annex2", 3)
    box = next(b for b in geo.boxes if b.stage == "village_review" and b.code == 9)
    cross = next(b for b in geo.boxes if b.stage == "home_visit" and b.code == 2)
    img = scan(pdf, 3, draw=lambda pen: (pen.tick(box.rect), pen.cross(cross.rect)), skew=0.8)
    rec = only_record(parse(app, [save_png(img, tmp_path / "t.png", 200)]))
    assert rec["serial"] == "annex2-20220601-1" and rec["case_id"] is None
    assert ticked(rec) == {("village_review", "risk_types"): [9], ("home_visit", "sanbaozhang"): [2]}
    assert rec["stages"]["village_review"]["codes"]["sanbaozhang"] == []
    assert rec["needs_review"] == []


def test_a_struck_through_box_goes_to_review(app, annex2, tmp_path):
    pdf, _ = annex2
    geo = geometry(app, pdf, "annex2", 3)
    struck = next(b for b in geo.boxes if b.stage == "home_visit" and b.code == 7)
    other = next(b for b in geo.boxes if b.stage == "home_visit" and b.code == 8)
    img = scan(pdf, 3, draw=lambda pen: (pen.tick(struck.rect), pen.strike(struck.rect), pen.tick(other.rect)))
    rec = only_record(parse(app, [save_png(img, tmp_path / "s.png", 200)]))
    flags = [n for n in rec["needs_review"] if n["item"] == "codes:risk_types"]
    assert len(flags) == 1 and flags[0]["stage"] == "home_visit" and "⑦" in flags[0]["why"]
    assert flags[0]["confidence"] < 0.6
    assert 7 not in rec["stages"]["home_visit"]["codes"]["risk_types"]  # not guessed as ticked


def test_signatures_seal_and_date(app, annex2, tmp_path):
    pdf, _ = annex2
    geo = geometry(app, pdf, "annex2", 3)
    signers = {(s.stage, s.index): s for s in geo.signs}
    dates = {d.stage: d for d in geo.dates}
    county = signers[("county_approval", 0)]

    def draw(pen):
        pen.signature(signers[("home_visit", 0)].label)
        pen.signature(signers[("township_review", 1)].label)
        pen.seal(county.label.x0 + 70, county.label.top + 4)
        pen.date(dates["home_visit"], dt.date(2022, 6, 3))
        pen.date(dates["county_approval"], dt.date(2022, 7, 15))

    rec = only_record(parse(app, [save_png(scan(pdf, 3, draw=draw, skew=-1.2), tmp_path / "d.png", 200)]))
    st = rec["stages"]
    assert [s["present"] for s in st["home_visit"]["signers"]] == [True] and st["home_visit"]["signed"]
    assert [s["present"] for s in st["township_review"]["signers"]] == [False, True]
    assert not st["township_review"]["signed"] and not st["village_review"]["signed"]
    seal = st["county_approval"]["signers"][0]
    assert seal["seal"] and seal["present"] and st["county_approval"]["signed"]
    assert not any(s["seal"] for k in ("home_visit", "village_review", "township_review") for s in st[k]["signers"])
    assert st["home_visit"]["date"] == "2022-06-03" and st["county_approval"]["date"] == "2022-07-15"
    assert st["village_review"]["date"] is None and st["village_review"]["date_confidence"] == 1.0
    assert rec["needs_review"] == []


def test_an_empty_form_has_nothing_on_it(app, annex2, tmp_path):
    pdf, _ = annex2
    rec = only_record(parse(app, [save_png(scan(pdf, 3, dpi=150, skew=1.5, jpeg=60), tmp_path / "e.png", 150)]))
    assert ticked(rec) == {} and rec["fields"] == {} and rec["needs_review"] == []
    for st in rec["stages"].values():
        assert not st["signed"] and st["date"] is None
        assert not any(s["present"] or s["seal"] or s["thumbprint"] for s in st["signers"])
    assert list(rec["stages"]) == ["home_visit", "village_review", "township_review", "county_approval"]


def test_printed_values_are_read_back_from_the_scan(app, annex2, tmp_path):
    pdf, data = annex2
    rec = only_record(parse(app, [save_png(scan(pdf, 1, dpi=200, skew=0.7), tmp_path / "v.png", 200)], data=data))
    assert rec["case_id"] == "T-001"
    assert rec["fields"]["head_name"] == "张三" and rec["fields"]["household_size"] == "4"
    assert rec["fields"]["address.township"] == "荣家湾" and rec["fields"]["phone"] == "13807301234"
    assert rec["needs_review"] == []  # everything printed matches the data file


def test_thumbprint_and_county_seal_on_the_other_annexes(app, annex1_and_3, tmp_path):
    a1, a3 = annex1_and_3
    g1, g3 = geometry(app, a1, "annex1"), geometry(app, a3, "annex3")
    applicant = g1.signs[0]
    img1 = scan(a1, draw=lambda pen: pen.thumbprint(applicant.label.x1 + 20, applicant.label.top + 6), turn=270)
    county = next(s for s in g3.signs if s.stage == "county_approval")
    img3 = scan(a3, draw=lambda pen: pen.seal(county.label.x0 + 110, county.label.top + 2), turn=90, skew=1.0)
    result = parse(app, [save_pdf([img1, img3], tmp_path / "13.pdf")])
    r1, r3 = result.records
    s1 = r1["stages"]["applicant"]["signers"][0]
    assert s1["thumbprint"] and s1["present"] and not s1["seal"] and r1["stages"]["applicant"]["signed"]
    s3 = r3["stages"]["county_approval"]["signers"][0]
    assert s3["seal"] and s3["present"] and s3["role"] == "岳阳县（市、区）乡村振兴局"
    assert not r3["stages"]["home_visit"]["signed"] and not r3["stages"]["household_confirm"]["signed"]


def test_an_unreadable_qr_code_falls_back_to_the_printed_id_line(app, annex2, tmp_path):
    pdf, _ = annex2
    geo = geometry(app, pdf, "annex2", 2)
    qr = geo.qr.grow(2)
    img = scan(pdf, 2, draw=lambda pen: pen.draw.rectangle([*pen.p(qr.x0, qr.top), *pen.p(qr.x1, qr.bottom)],
                                                           fill="white"), turn=180)
    result = parse(app, [save_png(img, tmp_path / "noqr.png", 200)])
    rec = only_record(result)
    assert rec["identified_by"] == "text" and rec["case_id"] == "T-002"
    assert result.pages[0]["status"] == "flagged"
    ident = [n for n in rec["needs_review"] if n["item"] == "identity"]
    assert len(ident) == 1 and ident[0]["value"] == "C:T-002" and ident[0]["confidence"] < 1
