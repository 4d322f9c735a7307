"""One scanned page (an image, or a PDF page that is a picture) read against its blank.

Order of work, cheapest first, and only what the layout asks for:

1. turn the page upright (the QR code says how) and register it to the blank
   (:mod:`.align`);
2. subtract the blank's printed ink (:mod:`.marks`) and measure tick boxes,
   signing areas (ink; red for seals and thumbprints) and date lines;
3. OCR only crops: a date line that has new ink, a code blank with writing when no
   box of it is ticked, and the header lines that carry values — each with the
   recogniser alone (one text line, no detection).

Returns plain data (:class:`~.results.PageReading`), so a worker process can send it back.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from ..errors import Code
from ..forms.model import FormSpec
from ..pagemark import qr_modules
from . import marks, ocr
from .align import align, from_points, qr_symbol_corners, warp
from .dates import parse_date, parse_codes
from .geometry import PageGeometry, Rect, role_text
from .headerscan import read_header
from .identify import Identity
from .images import png, to_gray
from .locate import Shifts, locate_boxes, row_anchor
from .reference import Reference
from .results import PageReading, ReviewItem, ReviewKind, SignerReading, StageReading
from .thresholds import DPI_MAX, DPI_MIN, DPI_STEP, LOCAL_SEARCH, OCR_REVIEW_BELOW, SIGN_BELOW, SIGN_INK_ABOVE, SIGN_SPILL



def working_dpi(dpi: float) -> int:
    return int(min(DPI_MAX, max(DPI_MIN, round(dpi / DPI_STEP) * DPI_STEP)))


def read_scan(ref: Reference, identity: Identity, upright_rgb: np.ndarray, nominal_dpi: float, *,
              page_no: int = 1, crops: bool = False, text_fields: dict | None = None) -> PageReading:
    """Everything people wrote on one upright page of ``ref.form``.

    ``text_fields``: header values already read from a text layer (no OCR then)."""
    geo = ref.geometry(page_no)
    gray = to_gray(upright_rgb)
    modules = _modules(identity)
    dpi, initial = _scale_and_start(geo, identity, gray.shape, nominal_dpi, modules)
    raster = ref.raster(working_dpi(dpi), page_no)
    if initial is not None:
        ref_pts = qr_symbol_corners(raster.px(geo.qr), modules)
        initial = from_points(ref_pts, np.asarray(identity.qr_corners, np.float32))
    alignment = align(raster.gray, gray, raster.dpi, initial)
    aligned = warp(upright_rgb, alignment.matrix, raster.gray.shape)
    ink = marks.page_ink(aligned, raster.ink, raster.dpi, kind=marks.scan_kind(gray))
    shifts = Shifts(ink, raster)
    out = PageReading(alignment=round(alignment.score, 3))
    # a badly aligned page: nothing measured on it is certain, every mark goes to review
    cap = 1.0
    if alignment.weak:
        out.flagged = Code.READ_ALIGN_LOW.format(score=f"{alignment.score:.2f}")
        cap = max(0.0, min(alignment.score, marks.REVIEW_BELOW - 0.01))
    blank_form = (identity.payload is None or identity.payload.kind == "S") and page_no == 1
    as_blank = identity.payload is not None and identity.payload.kind == "S"  # printed as the blank is
    _read_boxes(ref.form, geo, raster, ink, shifts, out, crops, ref, cap, blank_form, as_blank)
    overflows = _read_signers(ref.form, geo, raster, ink, shifts, out, crops, cap, ref.county_values)
    _read_dates(ref.form, geo, raster, ink, shifts, out, crops, overflows)
    if text_fields is not None:
        out.fields = {k: (v, c, -1) for k, (v, c) in text_fields.items()}
    elif page_no == 1:  # the header is printed on the first page
        header = read_header(ref, geo, raster, ink, shifts, crops)
        out.fields, out.line_crops, out.unread_crops = header.fields, header.line_crops, header.unread_crops
    return out


def _modules(identity: Identity) -> int:
    if identity.payload is None or not identity.qr_corners:
        return 0
    return qr_modules(identity.payload.encode())


def _scale_and_start(geo: PageGeometry, identity: Identity, shape, nominal_dpi: float, modules: int):
    """The scan's real resolution (from the QR code's size when there is one) and
    whether a QR start is possible."""
    if identity.qr_corners and geo.qr is not None and modules:
        pts = np.asarray(identity.qr_corners, np.float64)
        side_px = (np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[3] - pts[0])
                   + np.linalg.norm(pts[2] - pts[1]) + np.linalg.norm(pts[2] - pts[3])) / 4
        side_pt = geo.qr.width * modules / (modules + 4)
        if side_pt > 0 and side_px > 0:
            return side_px / side_pt * 72.0, True
    h, w = shape[:2]
    return w / geo.width * 72.0 if geo.width else nominal_dpi, None


def _union(rects: list[tuple[int, int, int, int]], pad: int = 0) -> tuple[int, int, int, int]:
    return (min(r[0] for r in rects) - pad, min(r[1] for r in rects) - pad,
            max(r[2] for r in rects) + pad, max(r[3] for r in rects) + pad)


def _code_name(form: FormSpec, no: int) -> str:
    for cl in form.code_lists.values():
        code = cl.by_no(no)
        if code is not None:
            return code.name
    return str(no)


def _stage(out: PageReading, key: str) -> StageReading:
    st = out.stages.get(key)
    if st is None:
        st = out.stages[key] = StageReading()
    return st


def _read_boxes(form: FormSpec, geo: PageGeometry, raster, ink: marks.PageInk, shifts: Shifts, out: PageReading,
                crops: bool, ref: Reference, cap: float = 1.0, handwritten: bool = True, as_blank: bool = False
                ) -> None:
    """Tick boxes; on a blank form (``handwritten``) also numbers written in the blank
    before the boxes when none is ticked (a pre-filled form prints its values there).
    ``as_blank``: the page was printed as the blank is (no values pushing boxes along), so
    its boxes are where the blank has them, and a match far from there is a look-alike."""
    groups: dict[tuple[str | None, str], list[tuple[int, object, marks.Tick, tuple[int, int]]]] = {}
    located = locate_boxes(geo, raster, ink)
    if as_blank:
        limit = raster.scale * LOCAL_SEARCH
        far = {b.stage for i, b in enumerate(geo.boxes)
               if i in located and max(abs(located[i][0]), abs(located[i][1])) > limit}
        # one far match shifts the pairing of its whole stage: keep none of that stage's
        located = {i: v for i, v in located.items() if geo.boxes[i].stage not in far}
    for i, box in enumerate(geo.boxes):
        shift = located.get(i) or shifts.of(row_anchor(geo, box))
        t = marks.tick(ink, raster.boxes.get(i) or raster.px(box.rect), shift)
        if i not in located and not as_blank:  # the boxes were not where the print puts them: do not trust it
            t = marks.Tick(t.ticked, min(t.confidence, 0.55), t.ratio, t.struck, t.faint)
        if t.confidence > cap:
            t = marks.Tick(t.ticked, cap, t.ratio, t.struck, t.faint)
        groups.setdefault((box.stage, box.field), []).append((i, box, t, shift))
    for stage in form.stages:  # every stage of the page has a reading, boxes or not
        if any(s.stage == stage.key for s in geo.signs) or any(d.stage == stage.key for d in geo.dates) \
                or any(b.stage == stage.key for b in geo.boxes):
            _stage(out, stage.key)
    for (stage_key, field_key), items in groups.items():
        chosen = [box.code for _, box, t, _ in items if t.ticked and not t.struck]
        doubtful = [(box, t) for _, box, t, _ in items if t.struck or t.confidence < marks.REVIEW_BELOW]
        conf = min(t.confidence for _, _, t, _ in items)
        if handwritten and not any(t.ticked for _, _, t, _ in items) and not doubtful:
            written = _written_codes(form, stage_key, field_key, raster, ink, shifts, out, crops, ref, items)
            if written is not None:
                chosen, conf = written
        target_codes = out.codes if stage_key is None else _stage(out, stage_key).codes
        target_codes[field_key] = sorted(chosen)
        if stage_key is None:
            out.codes_confidence = min(out.codes_confidence, conf)
        else:
            st = _stage(out, stage_key)
            st.codes_confidence = min(st.codes_confidence, conf)
        if doubtful:
            whys = []
            for box, t in doubtful:
                mark = f"☐{_circled(box.code)}"
                if t.struck:
                    whys.append(Code.READ_TICK_STRUCK.format(mark=mark, name=_code_name(form, box.code)))
                elif t.faint:
                    whys.append(Code.READ_TICK_FAINT.format(mark=mark, name=_code_name(form, box.code),
                                                            ratio=f"{t.ratio:.0%}"))
                else:
                    whys.append(Code.READ_TICK_UNCERTAIN.format(mark=mark, name=_code_name(form, box.code),
                                                                ratio=f"{t.ratio:.0%}"))
            crop = None
            if crops:
                rect = _union([raster.px(b.rect) for _, b, _, _ in items], pad=int(raster.scale * 6))
                crop = png(ink.image(rect, items[0][3]))
            out.review.append(ReviewItem(stage_key, ReviewKind.CODES, field_key, "；".join(whys), sorted(chosen),
                                         round(min(t.confidence for _, t in doubtful), 3), crop))


def _circled(no: int) -> str:
    from ..forms.model import circled

    return circled(no)


def _written_codes(form: FormSpec, stage_key, field_key, raster, ink: marks.PageInk, shifts: Shifts,
                   out: PageReading, crops: bool, ref: Reference, items):
    """Numbers written in the blank instead of ticks: (codes, confidence), or None."""
    rect = ref.code_blanks.get((stage_key, field_key))
    if rect is None:
        return None
    box = raster.px(rect)
    shift = items[0][3]
    if marks.written(ink, box, shift=shift) < marks.WRITTEN_MIN:
        return None
    f = form.field(field_key)
    allowed = {c.no for lid in (f.code_lists if f else ()) for c in form.code_lists[lid].codes}
    pad = int(raster.scale * 4)
    img = ink.image((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), shift)
    line = ocr.read_line(img)
    # a blank may show two fields (annex 1's "我家因____"): any code of the form is understood,
    # this field keeps its own
    codes, understood = parse_codes(line.text, {c.no for c in form.all_codes()})
    codes = [c for c in codes if c in allowed]
    conf = round(line.score * (1.0 if understood else 0.5), 3)
    if conf < OCR_REVIEW_BELOW or not codes:
        label = f.label if f else field_key
        out.review.append(ReviewItem(stage_key, ReviewKind.CODES, field_key,
                                     Code.READ_CODES_WRITTEN.format(label=label, text=line.text),
                                     codes, conf, png(img) if crops else None))
        return [], conf
    return codes, conf


def _sign_areas(geo: PageGeometry, raster) -> list[tuple[object, tuple[int, int, int, int], tuple[int, int, int, int]]]:
    """Each signer's areas in px: (signer, where a signature is looked for, where a seal or
    thumbprint is). The signature area stays clear of the printed lines above and below
    the label (a pre-filled form wraps its statement differently from the blank, so those
    lines would look like new ink); areas of one stage are split between their labels."""
    out = []
    for s in geo.signs:
        x0, x1 = s.area.x0, s.area.x1
        top, bottom = s.label.top - SIGN_INK_ABOVE, s.label.bottom + SIGN_BELOW
        for text, r in geo.lines:
            if r.x1 < x0 or r.x0 > x1 or abs(r.top - s.label.top) < 3:
                continue
            if r.bottom <= s.label.top + 1 and r.bottom > top - 2:
                top = max(top, r.bottom + 2)
            elif r.top >= s.label.bottom - 1 and r.top < bottom:
                bottom = min(bottom, r.top - 1)
        red_top, red_bottom = s.area.top, s.area.bottom
        for other in geo.signs:
            if other is s or other.stage != s.stage:
                continue
            mid = (s.label.top + other.label.top) / 2 + (s.label.height / 2)
            if other.label.top > s.label.top + 1:
                bottom, red_bottom = min(bottom, mid), min(red_bottom, mid)
            elif other.label.top < s.label.top - 1:
                top, red_top = max(top, mid), max(red_top, mid)
        out.append((s, raster.px(Rect(x0, top, x1, max(bottom, top + 4))), raster.px(Rect(x0, red_top, x1, red_bottom))))
    return out


def _read_signers(form: FormSpec, geo: PageGeometry, raster, ink: marks.PageInk, shifts: Shifts,
                  out: PageReading, crops: bool, cap: float = 1.0, county_values: dict | None = None) -> dict:
    """Every signer; returns, by stage, the strokes of signatures that ran out of their
    box ((box, mask, shift) each), for the date reader to leave out."""
    county_values = county_values or {}
    dates = [raster.px(d.area) for d in geo.dates]
    boxes = [raster.px(b.rect.grow(2)) for b in geo.boxes]
    overflows: dict[str, list] = {}
    for s, area, red_area in _sign_areas(geo, raster):
        shift = shifts.of(s.label)
        # a signature may run on past its box: over the date on its line, above or below the line
        same_line = [d for d in geo.dates if abs(d.line.top - s.label.top) < 3 and d.line.x0 > s.label.x0]
        grow = int(raster.scale * SIGN_SPILL)
        right = max([area[2]] + [raster.px(d.area)[2] for d in same_line])
        spill = (area[0], area[1] - grow, right, area[3] + grow)
        others = [raster.px(d.area) for d in geo.dates if d not in same_line]
        reading = marks.sign(ink, area, s.marks, exclude=dates + boxes, shift=shift, red_area=red_area,
                             spill=spill, spill_exclude=boxes + others)
        if reading.overflow is not None:
            overflows.setdefault(s.stage, []).append((*reading.overflow, shift))
        entry = SignerReading(_role(form, s, county_values), list(s.marks), reading.present, reading.seal,
                              reading.thumbprint, min(reading.confidence, cap))
        st = _stage(out, s.stage)
        st.signers.append(entry)
        if entry.confidence < marks.REVIEW_BELOW:
            mark = "、".join(s.marks)
            amount = reading.red_mm2 if ("盖章" in s.marks and not reading.ink_mm2) else reading.ink_mm2
            why = (Code.READ_SEAL_NO_COLOUR.format(role=entry.role, amount=f"{reading.ink_mm2:.1f}", ring=reading.note)
                   if reading.note else Code.READ_SIGN_UNCERTAIN.format(role=entry.role, mark=mark,
                                                                        amount=f"{amount:.1f}"))
            out.review.append(ReviewItem(s.stage, ReviewKind.SIGNATURE, str(len(st.signers) - 1), why,
                                         reading.present, entry.confidence,
                                         png(ink.image(_union([area, red_area]), shift)) if crops else None))
    return overflows


def _role(form: FormSpec, s, county_values: dict[str, str]) -> str:
    stage = form.stage(s.stage)
    role = stage.signers[s.index].role if stage is not None and s.index < len(stage.signers) else s.role
    return role_text(role, county_values)


def _read_dates(form: FormSpec, geo: PageGeometry, raster, ink: marks.PageInk, shifts: Shifts,
                out: PageReading, crops: bool, overflows: dict | None = None) -> None:
    """Each stage's date, read where the date is: strokes of a signature that ran into it
    are left out (and the date is flagged)."""
    for d in geo.dates:
        st = _stage(out, d.stage)
        shift = shifts.of(d.line)
        box = raster.px(d.area)
        # signed: every signer of the stage on this page (as the record's ``signed`` says)
        signed = st.signers if st.signers and all(s.present for s in st.signers) else []
        over = _overflow_in(box, shift, (overflows or {}).get(d.stage, ()), ink.mm2)
        img = None
        if _written_without(ink, box, shift, over) >= marks.WRITTEN_MIN:
            img = _date_image(ink, raster, d, shift, geo, shifts, over)
            line = ocr.read_line(img)
        if img is None or not any(ch.isdigit() for ch in unicodedata.normalize("NFKC", line.text)):
            # nothing written (OCR saw only the printed 年 月 日): normal in a stage nobody signed;
            # a signed stage without its date is worth a look
            st.date, st.date_confidence = None, 1.0
            if signed:
                if img is None:
                    img = _date_image(ink, raster, d, shift, geo, shifts)
                out.review.append(ReviewItem(d.stage, ReviewKind.DATE, None,
                                             Code.READ_DATE_MISSING.format(role=signed[0].role), None,
                                             round(marks.REVIEW_BELOW - 0.1, 3), png(img) if crops else None))
            continue
        # one doubtful digit makes a wrong date however sure the rest is
        reading = parse_date(line.text, min(line.score, 0.5 + 0.5 * line.weakest()))
        if over is not None:  # a signature ran into the date: read, but a person checks it
            sure = reading.value is not None and reading.confidence >= OCR_REVIEW_BELOW
            st.date = reading.value.isoformat() if sure else None
            st.date_confidence = min(reading.confidence, marks.REVIEW_BELOW - 0.05)
            guess = reading.value.isoformat() if reading.value is not None else (line.text or None)
            out.review.append(ReviewItem(d.stage, ReviewKind.DATE, None, Code.READ_DATE_OVERLAP.format(text=line.text),
                                         guess, st.date_confidence, png(img) if crops else None))
            continue
        if reading.value is not None and reading.confidence >= OCR_REVIEW_BELOW:
            st.date, st.date_confidence = reading.value.isoformat(), reading.confidence
            continue
        st.date, st.date_confidence = None, reading.confidence
        why = (Code.READ_DATE_INVALID.format(text=line.text, why=reading.invalid) if reading.invalid
               else Code.READ_DATE_UNCERTAIN.format(text=line.text))
        guess = reading.value.isoformat() if reading.value is not None else (line.text or None)
        out.review.append(ReviewItem(d.stage, ReviewKind.DATE, None, why, guess, reading.confidence,
                                     png(img) if crops else None))


def _overflow_in(box, shift, overflows, mm2: float) -> np.ndarray | None:
    """The signature strokes (of this stage) that lie in a date's box, as a mask of the
    scan's pixels under ``box`` cut with ``shift``; None if less than a written stroke."""
    x0, y0, x1, y1 = box
    mask = np.zeros((max(0, y1 - y0), max(0, x1 - x0)), bool)
    for (sx0, sy0, sx1, sy1), strokes, sshift in overflows:
        # both in scan pixels: the stroke box moved by its shift, the date box by the date's
        ax0, ay0 = sx0 + sshift[0] - (x0 + shift[0]), sy0 + sshift[1] - (y0 + shift[1])
        h, w = strokes.shape
        tx0, ty0, tx1, ty1 = max(0, ax0), max(0, ay0), min(mask.shape[1], ax0 + w), min(mask.shape[0], ay0 + h)
        if tx1 > tx0 and ty1 > ty0:
            mask[ty0:ty1, tx0:tx1] |= strokes[ty0 - ay0:ty1 - ay0, tx0 - ax0:tx1 - ax0]
    if mask.sum() * mm2 < marks.WRITTEN_MIN:
        return None
    import cv2

    return cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)


def _written_without(ink: marks.PageInk, box, shift, over: np.ndarray | None) -> float:
    """mm² of writing in a date's box, a signature's strokes left out."""
    if over is None:
        return marks.written(ink, box, shift=shift)
    clipped, new, _, _ = ink.cut(box, shift)
    ox, oy = clipped[0] - box[0], clipped[1] - box[1]
    part = over[oy:oy + new.shape[0], ox:ox + new.shape[1]]
    keep = new.copy()
    keep[:part.shape[0], :part.shape[1]] &= ~part
    return marks.area_mm2(keep, ink.mm2)


def _date_image(ink: marks.PageInk, raster, d, shift, geo: PageGeometry, shifts: Shifts,
                over: np.ndarray | None = None) -> np.ndarray:
    """The date line for OCR. A label may end on the same line ("…（盖章）：  年 月 日") and
    the year be written over its end: that label's printed ink (found where the label
    really is) is whitened, so that OCR sees the handwriting rather than "章）：".
    年, 月 and 日 stay: they help to read the date."""
    import cv2

    from .reference import REF_DARK

    box = raster.px(Rect(d.area.x0, d.area.top - 5, d.area.x1, d.area.bottom + 4))
    (x0, y0, x1, y1), _, _, gray = ink.cut(box, shift)
    img = gray.copy()
    h, w = img.shape
    for s in geo.signs:
        if abs(s.label.top - d.line.top) >= 3 or s.label.x0 >= d.line.x0:
            continue
        lx0, ly0, lx1, ly1 = raster.px(s.label.grow(1))
        printed = np.zeros(raster.gray.shape, np.uint8)
        printed[ly0:ly1, lx0:lx1] = raster.gray[ly0:ly1, lx0:lx1] < REF_DARK + 40
        # on the date's own line, so the date's shift holds; a little slack for the rest
        k = max(3, int(raster.scale) * 2 + 1)
        part = cv2.dilate(printed[y0:y1, x0:x1], np.ones((k, k), np.uint8)).astype(bool)
        ph, pw = part.shape
        img[:ph, :pw][part[:h, :w]] = 255
    if over is not None:  # a signature's strokes that ran into the date: not the date
        dbox = raster.px(d.area)
        ox, oy = dbox[0] - x0, dbox[1] - y0
        tx0, ty0 = max(0, ox), max(0, oy)
        tx1, ty1 = min(w, ox + over.shape[1]), min(h, oy + over.shape[0])
        if tx1 > tx0 and ty1 > ty0:
            img[ty0:ty1, tx0:tx1][over[ty0 - oy:ty1 - oy, tx0 - ox:tx1 - ox]] = 255
    return img


__all__ = ["read_scan", "role_text", "working_dpi"]
