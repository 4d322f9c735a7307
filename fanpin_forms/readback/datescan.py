"""Each stage's handwritten date on a scan, read where the date is.

Only a date line with new ink is OCR'd (its printed 年 月 日 stay: they help). What is
not the date is left out of the crop: the end of a label printed on the same line, and
the strokes of a signature that ran into it (:func:`.marks.sign` hands them over), in
which case the date is flagged. An empty date is normal in a stage nobody signed and
worth a flag in a signed one.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from ..errors import Code
from . import marks, ocr
from .dates import parse_date
from .geometry import PageGeometry, Rect
from .images import png
from .locate import Shifts
from .results import PageReading, ReviewItem, ReviewKind, StageReading
from .thresholds import OCR_REVIEW_BELOW


def read_dates(geo: PageGeometry, raster, ink: marks.PageInk, shifts: Shifts, out: PageReading, crops: bool,
               overflows: dict | None = None) -> None:
    """Each stage's date, read where the date is: strokes of a signature that ran into it
    are left out (and the date is flagged)."""
    for d in geo.dates:
        st = out.stages.setdefault(d.stage, StageReading())
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
