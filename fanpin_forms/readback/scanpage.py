"""One scanned page (an image, or a PDF page that is a picture) read against its blank.

Order of work, cheapest first, and only what the layout asks for:

1. turn the page upright (the QR code says how) and register it to the blank
   (:mod:`.align`);
2. subtract the blank's printed ink (:mod:`.marks`) and measure tick boxes,
   signing areas (ink; red for seals and thumbprints) and date lines;
3. OCR only crops: a date line that has new ink, a code blank with writing when no
   box of it is ticked, and the header lines that carry values — each with the
   recogniser alone (one text line, no detection). A signature that ran into its date is
   left out of the date's crop and the date is flagged; an empty date is normal in a
   stage nobody signed and worth a flag in a signed one.

Returns plain data (:class:`~.results.PageReading`), so a worker process can send it back.
"""

from __future__ import annotations

import numpy as np

from ..errors import Code
from ..forms.model import FormSpec
from ..pagemark import qr_modules
from . import marks, ocr
from .align import align, from_points, qr_symbol_corners, warp
from .dates import parse_codes
from .datescan import read_dates
from .geometry import PageGeometry, Rect, role_text
from .headerscan import read_header
from .identify import Identity
from .images import png, scan_kind, to_gray
from .locate import Shifts, locate_boxes, row_anchor
from .reference import Reference
from .results import PageReading, ReviewItem, ReviewKind, SignerReading, StageReading
from .thresholds import DPI_MAX, DPI_MIN, DPI_STEP, LOCAL_SEARCH, OCR_REVIEW_BELOW, SIGN_BELOW, SIGN_INK_ABOVE, SIGN_SPILL



def working_dpi(dpi: float) -> int:
    return int(min(DPI_MAX, max(DPI_MIN, round(dpi / DPI_STEP) * DPI_STEP)))


def read_scan(ref: Reference, identity: Identity, upright_rgb: np.ndarray, nominal_dpi: float, *,
              page_no: int = 1, crops: bool = False, text_fields: dict | None = None,
              photo: bool = False) -> PageReading:
    """Everything people wrote on one upright page of ``ref.form``.

    ``text_fields``: header values already read from a text layer (no OCR then); ``photo``:
    the page is a flattened phone photo (aligned with a homography)."""
    geo = ref.geometry(page_no)
    gray = to_gray(upright_rgb)
    modules = _modules(identity)
    dpi, initial = _scale_and_start(geo, identity, gray.shape, nominal_dpi, modules)
    raster = ref.raster(working_dpi(dpi), page_no)
    if initial is not None:
        ref_pts = qr_symbol_corners(raster.px(geo.qr), modules)
        initial = from_points(ref_pts, np.asarray(identity.qr_corners, np.float32))
    alignment = align(raster.gray, gray, raster.dpi, initial, perspective=photo)
    aligned = warp(upright_rgb, alignment.matrix, raster.gray.shape)
    ink = marks.page_ink(aligned, raster.ink, raster.dpi, kind=scan_kind(gray))
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
    read_dates(geo, raster, ink, shifts, out, crops, overflows)
    if any(f.type == "table" for f in ref.form.fields):  # repeating tables (家庭成员): readback/tables.py
        from .tables import read_tables

        out.tables = read_tables(ref, page_no, aligned, raster, crops)
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


__all__ = ["read_scan", "role_text", "working_dpi"]
