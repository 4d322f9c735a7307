"""The independent paper simulator (tests/papersim.py): it reads the printed page as a person
does, is deterministic per seed, its truth matches what it drew, its scans are what they
claim to be, its scoring counts right / flagged / silent, and it never imports the reader."""

from __future__ import annotations

import ast
import copy
import hashlib
import io
import random
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pdfplumber
import pytest
from PIL import Image

from . import papersim
from .papersim_print import forms_for, print_forms

pytestmark = pytest.mark.slow

SEED = 20230301
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def printed(app, tmp_path_factory):
    """Two pages of each annex (one pre-filled, one blank), printed by the product."""
    out = tmp_path_factory.mktemp("papersim")
    items = print_forms(app, forms_for(app, 6, SEED), out)
    docs = {p.pdf: pdfplumber.open(p.pdf) for p in items}
    yield [(item, docs[item.pdf].pages[item.page - 1]) for item in items]
    for d in docs.values():
        d.close()


def _of(printed, form_id: str, filled: bool | None = None):
    return next((i, p) for i, p in printed if i.form.id == form_id and (filled is None or (i.record is not None) == filled))


def test_sheet_is_read_as_a_person_reads_the_print(printed):
    item, page = _of(printed, "annex1")
    sheet = papersim.read_sheet(page, item.form)
    # annex 1 prints "☐④☐" at the end of one line and "⑤" at the start of the next: still box ⑤
    assert [b.code for b in sheet.boxes] == list(range(1, 15))
    assert {b.field for b in sheet.boxes if b.code <= 5} == {"sanbaozhang"}
    assert [(s.stage, s.marks) for s in sheet.signers] == [("applicant", ("签字", "按手印"))]
    item, page = _of(printed, "annex2")
    sheet = papersim.read_sheet(page, item.form)
    assert [s.stage for s in sheet.signers] == ["home_visit", "village_review", "township_review",
                                                "township_review", "county_approval"]
    assert [d.stage for d in sheet.dates] == ["home_visit", "village_review", "township_review", "county_approval"]
    assert len(sheet.boxes) == 28 and {b.stage for b in sheet.boxes} == {"home_visit", "village_review"}
    for s in sheet.signers:  # the printed label, then free line to the table's edge
        assert s.free[0] == s.label[2] and s.free[2] - s.free[0] > 60
        assert s.band[0] < s.label[1] < s.label[3] < s.band[1]
    item, page = _of(printed, "annex3")
    sheet = papersim.read_sheet(page, item.form)
    dates = {d.stage: d for d in sheet.dates}
    for s in sheet.signers:
        d = dates.get(s.stage)
        if d is not None and abs(d.nian[1] - s.label[1]) < 3:  # "入户核实人员（签字）：…年　月　日" on one line
            assert s.free[2] == d.nian[0]  # the free line ends where the date's print begins
        else:
            assert s.free[2] > d.nian[0] if d else True
    # the template gives a signer and the date one line only when 35 mm (99 pt) to sign fit before it
    same = [s for s in sheet.signers if s.stage in dates and abs(dates[s.stage].nian[1] - s.label[1]) < 3]
    assert same and all(s.free[2] - s.free[0] >= 99 for s in same)


def test_read_sheet_refuses_a_page_of_another_form(printed, app):
    item, page = _of(printed, "annex1")
    with pytest.raises(papersim.PaperError):
        papersim.read_sheet(page, app.form("annex2"))


def _fill(app, printed, form_id, seed, dpi=150, filled=None):
    item, page = _of(printed, form_id, filled)
    return papersim.fill_in(app, item, page, seed, dpi)


def test_deterministic_for_a_seed(app, printed):
    a_img, a_truth, _ = _fill(app, printed, "annex2", "s1")
    b_img, b_truth, _ = _fill(app, printed, "annex2", "s1")
    c_img, c_truth, _ = _fill(app, printed, "annex2", "s2")
    assert a_img.tobytes() == b_img.tobytes() and a_truth == b_truth
    assert a_img.tobytes() != c_img.tobytes()
    for kind in papersim.KINDS:
        x = papersim.scan(a_img, 150, kind, random.Random(7))
        y = papersim.scan(b_img, 150, kind, random.Random(7))
        assert hashlib.sha256(x.data).digest() == hashlib.sha256(y.data).digest() and x.info == y.info


def _seeded_with(app, printed, form_id, want, dpi=100):
    for k in range(80):
        img, truth, sheet = _fill(app, printed, form_id, f"want-{k}", dpi)
        if want(truth):
            return img, truth, sheet
    raise AssertionError("no seed gave the wanted page")


def test_ink_lies_inside_the_recorded_marks(app, printed):
    dpi = 100
    img, truth, _ = _seeded_with(app, printed, "annex3", lambda t: any(m.kind == "seal" for m in t.marks)
                                 and any(m.kind == "signature" for m in t.marks), dpi)
    item, _ = _of(printed, "annex3")
    clean = np.asarray(papersim.render(item.pdf, item.page, dpi), dtype=np.int16)
    diff = np.abs(np.asarray(img, dtype=np.int16) - clean).max(axis=2) > 24
    inside = np.zeros_like(diff)
    f = dpi / 72
    for m in truth.marks:
        x0, t, x1, b = m.bbox
        inside[max(0, int(t * f) - 2):int(b * f) + 3, max(0, int(x0 * f) - 2):int(x1 * f) + 3] = True
    assert diff.sum() > 500
    assert not (diff & ~inside).any()
    for seal in (m for m in truth.marks if m.kind == "seal"):
        x0, t, x1, b = seal.bbox
        assert 36 <= (x1 - x0) / papersim.MM <= 47 and 36 <= (b - t) / papersim.MM <= 47
        box = diff[int(t * f):int(b * f), int(x0 * f):int(x1 * f)]
        assert box.mean() > 0.05  # a ring, a star and text: ink inside the box
        region = np.asarray(img)[int(t * f):int(b * f), int(x0 * f):int(x1 * f)].astype(int)
        ink = region[box]
        r, g, bl = papersim.SEAL_INKS[seal.what]
        # tinted towards its ink: the ink's strongest channel stays the page's brightest there
        assert np.median(ink[:, int(np.argmax((r, g, bl)))] - ink.min(axis=1)) > 20


def test_truth_agrees_with_the_drawing(app, printed):
    for k in range(12):
        img, truth, sheet = _fill(app, printed, ("annex1", "annex2", "annex3")[k % 3], f"agree-{k}", 100)
        marks = {(m.kind, m.stage, m.what) for m in truth.marks}
        assert len(truth.boxes) == len(sheet.boxes)
        for b in truth.boxes:
            assert b.ticked == (b.printed or (b.hand not in (None, "crossed_out"))), b
            assert ((b.hand, b.stage, f"{b.field} {papersim.CIRCLED[b.code]}") in marks) == (b.hand is not None)
        for key, st in truth.stages.items():
            for i, s in enumerate(st.signers):
                assert s.signature == (("signature", key, str(i)) in marks)
                assert s.thumbprint == (("thumbprint", key, str(i)) in marks)
                if s.seal:
                    assert any(m.kind == "seal" and m.stage == key for m in truth.marks)
            assert (st.date is not None) == any(m.kind == "date" and m.stage == key for m in truth.marks)
            if st.date:
                assert any(m.what == st.date for m in truth.marks if m.kind == "date")


def test_scan_kinds_are_what_they_claim(app, printed):
    img, _, _ = _fill(app, printed, "annex2", "kinds", 150)
    grey = papersim.scan(img, 150, "grey", random.Random(1))
    assert Image.open(io.BytesIO(grey.data)).mode == "L" and grey.colorspace == "DeviceGray"
    bw = papersim.scan(img, 150, "bw", random.Random(2))
    assert bw.bpc == 1 and len(zlib.decompress(bw.data)) == ((bw.width + 7) // 8) * bw.height
    colour = papersim.scan(img, 150, "colour", random.Random(3))
    assert Image.open(io.BytesIO(colour.data)).mode == "RGB"
    photo = papersim.scan(img, 150, "photo", random.Random(4))
    im = Image.open(io.BytesIO(photo.data))
    assert 7.9e6 <= im.width * im.height <= 12.3e6 and 0 <= photo.info.tilt <= 15
    # the sheet is in the photo, on a darker table
    arr = np.asarray(im.convert("L"))
    h, w = arr.shape
    assert arr[h // 2 - 50:h // 2 + 50, w // 2 - 50:w // 2 + 50].mean() > arr[:40, :].mean()


def test_image_pdf_has_one_page_per_scan(app, printed, tmp_path):
    import pypdfium2 as pdfium

    img, _, _ = _fill(app, printed, "annex1", "pdf", 100)
    scans = [papersim.scan(img, 100, k, random.Random(i)) for i, k in enumerate(("colour", "grey", "bw"))]
    path = papersim.write_image_pdf(tmp_path / "x.pdf", scans)
    doc = pdfium.PdfDocument(str(path))
    try:
        assert len(doc) == 3
        for page, s in zip(doc, scans):
            assert abs(page.get_width() - s.width * 72 / s.dpi) < 0.1
            assert np.asarray(page.render(scale=1).to_pil().convert("L")).std() > 10  # not blank
    finally:
        doc.close()


def _perfect_result(truth: papersim.PaperTruth) -> object:
    """What a reader that is always right would return."""
    records = []
    for p in truth.pages:
        kind, value = p.ident.split(":", 1)
        rec = {"form": p.form, "case_id": value if kind == "C" else None, "serial": value if kind == "S" else None,
               "row": int(value) if kind == "R" else None, "source": {"file": p.file, "pages": [p.page]},
               "codes": {}, "stages": {}, "needs_review": []}
        for b in p.boxes:
            where = rec["codes"] if b.stage is None else rec["stages"].setdefault(b.stage, {}).setdefault("codes", {})
            if b.ticked:
                where.setdefault(b.field, []).append(b.code)
        for key, st in p.stages.items():
            rst = rec["stages"].setdefault(key, {})
            rst["signers"] = [{"present": s.present, "thumbprint": s.thumbprint} for s in st.signers]
            rst["date"] = st.date
        records.append(rec)
    return type("Result", (), {"records": records, "pages": [], "failures": []})()


def test_score_counts_right_flagged_and_silent(app, printed):
    pages = []
    for k, (item, page) in enumerate(printed):
        _, truth, _ = papersim.fill_in(app, item, page, f"score-{k}", 72)
        truth.scan = papersim.ScanInfo(papersim.KINDS[k % 4], 72)
        truth.file, truth.page = f"/x/{truth.scan.kind}.pdf", k + 1
        pages.append(truth)
    truth = papersim.PaperTruth(pages, [("/x/colour.pdf", 99)], [], SEED)
    result = _perfect_result(truth)
    s = papersim.score(truth, result)
    assert s.problems == [] and all(i.right for i in s.items) and not any(i.flagged for i in s.items)
    assert len(s.of("identity")) == len(pages) and len(s.of("tick")) == sum(len(p.boxes) for p in pages)
    # one tick read wrong: one silent error; the same flagged: none
    wrong = copy.deepcopy(result)
    j = next(k for k, p in enumerate(pages) if any(b.stage for b in p.boxes))
    rec = wrong.records[j]
    b = next(b for b in pages[j].boxes if b.stage is not None)
    codes = rec["stages"][b.stage].setdefault("codes", {}).setdefault(b.field, [])
    codes.remove(b.code) if b.code in codes else codes.append(b.code)
    s = papersim.score(truth, wrong)
    assert [i.what.split()[1] for i in s.items if i.silent] == [papersim.CIRCLED[b.code]]
    rec["needs_review"].append({"stage": b.stage, "item": f"codes:{b.field}", "why": "?"})
    s = papersim.score(truth, wrong)
    assert not any(i.silent for i in s.items) and sum(not i.right for i in s.items) == 1
    # a form not found: every value of it is wrong and, unflagged, silent; a foreign page taken for a form too
    lost = copy.deepcopy(result)
    del lost.records[0]
    lost.records.append({"form": "annex2", "serial": "X-1", "source": {"file": "/x/colour.pdf", "pages": [99]}})
    s = papersim.score(truth, lost)
    silent_forms = {i.form for i in s.items if i.silent}
    assert silent_forms == {f"{pages[0].form} {pages[0].ident}", "annex2 ?"}


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add(("." * node.level) + (node.module or ""))
    return out


def test_never_imports_the_reader():
    for name in ("papersim.py", "papersim_print.py"):
        names = _imports(HERE / name)
        assert not any("readback" in n or "scansim" in n for n in names), (name, names)
    code = ("import sys; import tests.papersim as p; p.forms_for; "
            "print([m for m in sys.modules if m.startswith('fanpin_forms.readback') or m == 'tests.scansim'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=HERE.parent, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
