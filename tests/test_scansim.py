"""The scan simulator itself (tests/scansim.py): deterministic per seed, ink where the
page's geometry says, truth that adds up, a well-formed image-only PDF."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest

from fanpin_forms.pagemark import decode_payload

from . import scansim
from .scansim import Rect

pytestmark = pytest.mark.slow

SEED = 20221129


def _forms(app):
    rows = scansim.households(3, seed=SEED)
    return [("annex1", scansim.load_records(app, "annex1", rows[:1])), ("annex1", 1),
            ("annex2", scansim.load_records(app, "annex2", rows[1:2])), ("annex2", 2),
            ("annex3", scansim.load_records(app, "annex3", rows[2:3])), ("annex3", 1)]


@pytest.fixture(scope="module")
def run(app, tmp_path_factory):
    out = tmp_path_factory.mktemp("scansim") / "scan.pdf"
    drawn: dict = {}
    truth = scansim.simulate(app, out, forms=_forms(app), seed=SEED, drawn=drawn)
    return out, truth, drawn


def _norm(truth: scansim.ScanTruth) -> list:
    """The truth without the output file's name."""
    return [[(f.key, f.codes, f.hand_header, f.stages, [p for _, p in f.pages],
              [(s.page, s.dpi, s.rotation, s.skew, s.jpeg_quality, s.blur, s.noise) for s in f.scans])
             for f in truth.forms],
            [p for _, p in truth.foreign_pages], [p for _, p in truth.duplicate_pages], truth.pages_total]


def _overlaps(a: Rect, b: Rect) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.top < b.bottom and b.top < a.bottom


def _page_hashes(pdf: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(pdf))
    try:
        out = []
        for i in range(len(doc)):
            bitmap = doc[i].render(scale=0.3).to_numpy()
            out.append(hashlib.sha1(bitmap.tobytes()).hexdigest())
        return out
    finally:
        doc.close()


def _dark(img, rect: Rect, dpi: int, level: int = 150) -> np.ndarray:
    f = dpi / 72
    box = (int(rect.x0 * f), int(rect.top * f), int(round(rect.x1 * f)), int(round(rect.bottom * f)))
    return np.asarray(img.convert("L").crop(box)) < level


def _new_ink(entry, rect: Rect) -> int:
    """Pixels inside ``rect`` that are dark now and were not dark on the printed page."""
    return int((_dark(entry["image"], rect, entry["dpi"]) & ~_dark(entry["clean"], rect, entry["dpi"], 200)).sum())


def _changed(entry, rect: Rect) -> int:
    f = entry["dpi"] / 72
    box = (int(rect.x0 * f), int(rect.top * f), int(round(rect.x1 * f)), int(round(rect.bottom * f)))
    a = np.asarray(entry["image"].crop(box), dtype=np.int16)
    b = np.asarray(entry["clean"].crop(box), dtype=np.int16)
    return int((np.abs(a - b).max(axis=-1) > 40).sum())


def test_same_seed_same_scan_other_seed_other_scan(app, run, tmp_path):
    out, truth, _ = run
    again = scansim.simulate(app, tmp_path / "again.pdf", forms=_forms(app), seed=SEED)
    assert _norm(again) == _norm(truth)
    assert (tmp_path / "again.pdf").read_bytes() == out.read_bytes()
    other = scansim.simulate(app, tmp_path / "other.pdf", forms=_forms(app), seed=SEED + 1)
    assert [(f.codes, f.stages) for f in other.forms] != [(f.codes, f.stages) for f in truth.forms]
    assert _page_hashes(tmp_path / "other.pdf") != _page_hashes(out)


def test_every_page_accounted_for(run):
    out, truth, _ = run
    doc = pdfium.PdfDocument(str(out))
    try:
        n = len(doc)
        for i in range(n):
            page = doc[i]
            assert page.get_textpage().count_chars() == 0  # image only
            objs = list(page.get_objects())
            assert len(objs) == 1 and objs[0].type == pdfium.raw.FPDF_PAGEOBJ_IMAGE
    finally:
        doc.close()
    assert n == truth.pages_total == len(truth.forms) + len(truth.foreign_pages) + len(truth.duplicate_pages)
    pages = [p for f in truth.forms for _, p in f.pages] + [p for _, p in truth.foreign_pages] + \
        [p for _, p in truth.duplicate_pages]
    assert sorted(pages) == list(range(1, n + 1))
    assert len(truth.foreign_pages) == 1 and len(truth.duplicate_pages) == 1
    (dup, orig), = truth.duplicate_of.items()
    assert dup[1] > orig[1]  # the later copy in the file is the duplicate
    assert sum(len(f.scans) for f in truth.forms) == len(truth.forms) + 1
    assert {f.key for f in truth.forms} == {
        ("annex1", "C:SIM-20221129-0001"), ("annex1", "S:annex1-20221129-1"),
        ("annex2", "C:SIM-20221129-0002"), ("annex2", "S:annex2-20221129-1"), ("annex2", "S:annex2-20221129-2"),
        ("annex3", "C:SIM-20221129-0003"), ("annex3", "S:annex3-20221129-1")}


def test_page_sizes_follow_dpi_and_rotation(run):
    out, truth, _ = run
    doc = pdfium.PdfDocument(str(out))
    try:
        for f in truth.forms:
            for s in f.scans:
                w, h = doc[s.page - 1].get_size()
                short, long_ = sorted((w, h))
                assert 595 <= short <= 595 * 1.15 and 842 <= long_ <= 842 * 1.12, (f.key, w, h)
                assert (w > h) == (s.rotation in (90, 270)), (f.key, s.rotation, w, h)
                assert s.dpi in scansim.STANDARD_DPI
    finally:
        doc.close()


def test_truth_is_consistent(run):
    _, truth, _ = run
    for f in truth.forms:
        record_codes = {k: set(v) if isinstance(v, tuple) else set() for k, v in f.values.items()}
        for stage in [None, *f.stages]:
            codes = f.codes if stage is None else f.stages[stage].codes
            hand = f.hand_header if stage is None else f.stages[stage].hand_ticked
            for key, ticked in codes.items():
                assert set(hand.get(key, [])) <= set(ticked)
                if f.filled:  # printed ☑ are part of the truth
                    assert record_codes.get(key, set()) <= set(ticked)
                else:
                    assert set(hand.get(key, [])) == set(ticked)
        for st in f.stages.values():
            for s in st.signers:
                if "盖章" in s.marks:
                    assert not s.signature and not s.thumbprint
                if s.thumbprint:
                    assert "按手印" in s.marks
    annex2 = [f for f in truth.forms if f.form == "annex2"]
    assert all(set(f.stages["home_visit"].codes) == {"sanbaozhang", "risk_types"} for f in annex2)
    assert all(f.stages["county_approval"].codes == {} for f in annex2)
    annex1 = [f for f in truth.forms if f.form == "annex1"]
    assert all(set(f.codes) == {"sanbaozhang", "risk_types"} and set(f.stages) == {"applicant"} for f in annex1)


def test_ticks_are_drawn_inside_their_boxes_and_nowhere_else(run):
    _, truth, drawn = run
    ticked = 0
    for f in truth.forms:
        entry = drawn[f.key]
        layout = entry["layout"]
        assert len(layout.boxes) == len(scansim.box_sequence(f.spec))  # every printed box found
        for box in layout.boxes:
            hand = f.hand_header if box.stage is None else f.stages[box.stage].hand_ticked
            inner = box.square.grow(-0.15 * box.square.width)
            if box.code in hand.get(box.field, ()):
                ticked += 1
                assert _changed(entry, inner) >= 3, (f.key, box)
            else:
                assert _changed(entry, inner) == 0, (f.key, box)
        assert sorted((t[0], t[1], t[2]) for t in entry["drawn"]["ticks"]) == sorted(
            (b.stage, b.field, b.code) for b in layout.boxes
            if b.code in (f.hand_header if b.stage is None else f.stages[b.stage].hand_ticked).get(b.field, ()))
    assert ticked > 0


def test_squares_sit_on_the_printed_box(run):
    """Box.square (where ticks are aimed) holds the printed square's border; its inside is empty."""
    _, truth, drawn = run
    for f in truth.forms[:3]:
        entry = drawn[f.key]
        for box in entry["layout"].boxes:
            sq = box.square
            f_ = entry["dpi"] / 72
            dark = _dark(entry["clean"], box.rect, entry["dpi"], 160)
            ys, xs = np.nonzero(dark)
            xs, ys = box.rect.x0 + (xs + 0.5) / f_, box.rect.top + (ys + 0.5) / f_
            around = sq.grow(1.0)
            inside = (xs >= around.x0) & (xs <= around.x1) & (ys >= around.top) & (ys <= around.bottom)
            assert len(xs) > 0 and inside.mean() >= 0.97, (f.key, box, inside.mean())
            if not box.printed_ticked:
                assert _dark(entry["clean"], sq.grow(-0.25 * sq.width), entry["dpi"], 160).mean() < 0.02


def test_signatures_seals_thumbprints_and_dates_land_in_their_areas(run):
    _, truth, drawn = run
    counts = {"signatures": 0, "seals": 0, "thumbprints": 0, "dates": 0}
    for f in truth.forms:
        entry = drawn[f.key]
        geo = entry["layout"].geometry
        areas = {(s.stage, s.index): s.area for s in geo.signs}
        for kind in ("signatures", "seals", "thumbprints"):
            for stage, i, where in entry["drawn"][kind]:
                counts[kind] += 1
                a = areas[(stage, i)]
                assert a.x0 - 0.5 <= where.x0 and where.x1 <= a.x1 + 0.5, (f.key, kind, stage, where, a)
                assert a.top - 0.5 <= where.top and where.bottom <= a.bottom + 0.5, (f.key, kind, stage, where, a)
                assert _changed(entry, where) > 20
                st = f.stages[stage].signers[i]
                assert {"signatures": st.signature, "seals": st.seal, "thumbprints": st.thumbprint}[kind]
        signed = {(s, i) for kind in ("signatures", "seals", "thumbprints") for s, i, _ in entry["drawn"][kind]}
        for key, st in f.stages.items():
            for i, s in enumerate(st.signers):
                assert ((key, i) in signed) == s.present, (f.key, key, i)
                if not s.present:
                    label = next(g for g in geo.signs if g.stage == key and g.index == i)
                    right_of_label = Rect(label.label.x1 + 2, label.label.top, label.area.x1 - 2, label.label.bottom)
                    others = [w for kind in ("seals", "thumbprints", "dates") for *_, w in entry["drawn"][kind]]
                    if right_of_label.width > 4 and not any(_overlaps(right_of_label, w) for w in others):
                        assert _changed(entry, right_of_label) == 0, (f.key, key, i)
        dated = {stage for stage, _ in entry["drawn"]["dates"]}
        assert dated == {k for k, st in f.stages.items() if st.date is not None}
        for stage in dated:
            nian, yue, ri = entry["layout"].date_chars[stage]
            counts["dates"] += 1
            # digits before 年, between 年 and 月, between 月 and 日
            for gap in (Rect(nian.x0 - 40, nian.top - 2, nian.x0, nian.bottom + 2),
                        Rect(nian.x1, yue.top - 2, yue.x0, yue.bottom + 2),
                        Rect(yue.x1, ri.top - 2, ri.x0, ri.bottom + 2)):
                assert _changed(entry, gap) > 10, (f.key, stage, gap)
    assert all(counts.values()), counts


def test_every_form_page_keeps_a_readable_qr_code(run):
    """The simulator must not destroy the identity it promises (checked with zxing)."""
    zxingcpp = pytest.importorskip("zxingcpp")
    out, truth, _ = run
    owner = truth.page_owner()
    doc = pdfium.PdfDocument(str(out))
    try:
        for (file, page), f in owner.items():
            img = doc[page - 1].render(scale=300 / 72).to_pil().convert("L")
            codes = [c for c in zxingcpp.read_barcodes(np.asarray(img), formats=zxingcpp.BarcodeFormat.QRCode)
                     if c.text.startswith("FPF2|")]
            assert codes, (page, f.key)
            payload = decode_payload(codes[0].text)
            assert (payload.form_id, payload.ident) == f.key
        for file, page in truth.foreign_pages:
            img = doc[page - 1].render(scale=200 / 72).to_pil().convert("L")
            assert not [c for c in zxingcpp.read_barcodes(np.asarray(img)) if c.text.startswith("FPF2|")]
    finally:
        doc.close()


def test_options_turn_the_scanner_off(app, tmp_path):
    rows = scansim.households(1, seed=3)
    truth = scansim.simulate(app, tmp_path / "plain.pdf", forms=[("annex2", scansim.load_records(app, "annex2", rows))],
                             seed=3, dpi=200, rotate=False, skew_deg=0, noise=False, jpeg_quality=95, shuffle=False,
                             foreign=0, duplicate=0, tick_style=("cross",))
    (f,) = truth.forms
    assert truth.pages_total == 1 and f.pages == [(str(tmp_path / "plain.pdf"), 1)]
    (s,) = f.scans
    assert (s.dpi, s.rotation, s.skew, s.jpeg_quality, s.noise) == (200, 0, 0.0, 95, 0.0)
    doc = pdfium.PdfDocument(str(tmp_path / "plain.pdf"))
    try:
        w, h = doc[0].get_size()
    finally:
        doc.close()
    assert 595 <= w < 600 and 842 <= h < 847


def test_text_layer_truth_is_what_was_printed(app, tmp_path):
    rows = scansim.households(2, seed=5)
    records = scansim.load_records(app, "annex2", rows)
    truth = scansim.simulate_text_layer(app, tmp_path / "text.pdf", forms=[("annex2", records), ("annex3", 1)])
    assert truth.text_layer and truth.pages_total == 3 and not truth.foreign_pages
    doc = pdfium.PdfDocument(str(tmp_path / "text.pdf"))
    try:
        assert len(doc) == 3 and all(doc[i].get_textpage().count_chars() > 100 for i in range(3))
    finally:
        doc.close()
    for f, record in zip(truth.forms, records):
        assert f.case_id == record.case_id and f.filled
        assert f.stages["home_visit"].codes["risk_types"] == sorted(record.values["risk_types"])
        assert not any(s.present for st in f.stages.values() for s in st.signers)
        assert all(st.date is None for st in f.stages.values())
    blank = truth.forms[2]
    assert blank.serial == "annex3-20221129-1" and not blank.filled
    assert all(v == [] for st in blank.stages.values() for v in st.codes.values())


def test_score_counts_right_flagged_and_silent(run):
    """score() against a fake reader that returns the truth, then one wrong value, then the
    same value flagged."""
    _, truth, _ = run

    def perfect() -> list[dict]:
        recs = []
        for f in truth.forms:
            recs.append({
                "form": f.form, "form_version": f.version, "case_id": f.case_id, "serial": f.serial, "row": f.row,
                "identified_by": "qr", "fields": {}, "codes": f.codes,
                "stages": {k: {"signed": st.signed, "date": st.date.isoformat() if st.date else None,
                               "codes": st.codes,
                               "signers": [{"role": s.role, "present": s.present, "seal": s.seal,
                                            "thumbprint": s.thumbprint} for s in st.signers]}
                           for k, st in f.stages.items()},
                "source": {"file": f.pages[0][0], "pages": [f.pages[0][1]]}, "needs_review": []})
        return recs

    class Result:
        def __init__(self, records):
            self.records = records
            self.summary = {"files": 1, "pages": truth.pages_total, "forms": len(truth.forms),
                            "recognised": len(truth.forms), "foreign": 1, "duplicates": 1, "failed": 0, "review": 0}
            self.failures = []

    good = scansim.score(truth, Result(perfect()))
    assert not good.problems and not good.wrong and good.silent_rate() == 0 and good.review_share() == 0
    assert good.accuracy("tick") == good.accuracy("signature") == good.accuracy("identity") == 1.0
    n_ticks = len(good.of("tick"))
    assert n_ticks == sum(len(scansim.box_sequence(f.spec)) for f in truth.forms)

    recs = perfect()
    a2 = next(r for r in recs if r["form"] == "annex2")
    a2["stages"]["home_visit"]["codes"] = {"sanbaozhang": [], "risk_types": [14]}
    bad = scansim.score(truth, Result(recs))
    assert bad.silent and all(i.stage == "home_visit" and i.kind == "tick" for i in bad.silent)
    a2["needs_review"] = [{"id": "x", "stage": "home_visit", "item": "codes:risk_types", "why": "", "value": [14],
                           "confidence": 0.4, "crop": None},
                          {"id": "y", "stage": "home_visit", "item": "codes:sanbaozhang", "why": "", "value": [],
                           "confidence": 0.4, "crop": None}]
    flagged = scansim.score(truth, Result(recs))
    assert not flagged.silent and flagged.review_share() > 0

    missing = scansim.score(truth, Result(perfect()[1:]))
    assert any(i.kind == "identity" and i.silent for i in missing.items)


def test_image_pdf_writer_round_trips(tmp_path):
    from io import BytesIO

    from PIL import Image

    pages = []
    for size, dpi in (((300, 400), 100.0), ((800, 600), 200.0)):
        buf = BytesIO()
        Image.new("RGB", size, (200, 10, 10)).save(buf, "JPEG", quality=80)
        pages.append((buf.getvalue(), size[0], size[1], dpi))
    path = scansim.write_image_pdf(tmp_path / "two.pdf", pages)
    doc = pdfium.PdfDocument(str(path))
    try:
        assert len(doc) == 2
        assert doc[0].get_size() == pytest.approx((216.0, 288.0))
        assert doc[1].get_size() == pytest.approx((288.0, 216.0))
        pixel = doc[1].render(scale=1).to_pil().convert("RGB").getpixel((10, 10))
        assert pixel[0] > 150 and pixel[1] < 60
    finally:
        doc.close()


def test_a_folder_gets_one_jpeg_per_page(app, tmp_path):
    rows = scansim.households(2, seed=9)
    folder = tmp_path / "scans"
    truth = scansim.simulate(app, folder, forms=[("annex3", scansim.load_records(app, "annex3", rows))], seed=9,
                             foreign=1, duplicate=1)
    files = sorted(folder.glob("*.jpg"))
    assert [p.name for p in files] == [f"scan-{n:04d}.jpg" for n in range(1, 5)] and truth.pages_total == 4
    where = sorted([p for f in truth.forms for p in f.pages] + truth.foreign_pages + truth.duplicate_pages)
    assert where == [(str(p), 1) for p in files]
    from PIL import Image

    for f in truth.forms:
        for s in f.scans:
            with Image.open(s.file) as im:
                assert im.format == "JPEG" and round(im.info["dpi"][0]) == s.dpi
