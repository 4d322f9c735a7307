"""A scan simulator: returned, hand-signed paper forms as a scanner would deliver them,
with the truth about every value on them.

:func:`simulate` prints forms through the product's own path (``record_context`` +
``merged_pdf``, i.e. the DOCX template and headless LibreOffice, exactly what
``fanpin fill --merge`` and ``fanpin blank -o x.pdf`` do), learns from each printed page's
text layer where its tick boxes, signing lines and date lines are
(:func:`fanpin_forms.readback.geometry.page_geometry`, plus an independent box finder
here), rasterises the page (pypdfium2, 150–300 dpi) and then, seeded:

* ticks boxes by hand: ✓, ✗ or a filled box, strokes 2–4 px at 200 dpi with jitter;
  some stages get none; on a pre-filled form the printed ☑ stay and a few boxes are
  added by hand;
* signs: a scribble or a hand-written name in blue or black ink right of each signer's
  label; a red round seal (ring, star, the office's name around the ring, multiplied
  over the print) for 盖章; a red thumbprint (ridged ellipse) for 按手印;
* writes dates: digits in a jittered hand-like style in the blanks before 年, 月 and 日;
* scans: quarter turns on some pages, skew up to ±``skew_deg``, a shifted paper edge,
  blur, Gaussian noise, a paper tone, JPEG at a random quality;
* assembles one image-only PDF (each page a DCT image, page size = pixels / dpi): pages
  shuffled, plus foreign pages (a cover letter of Chinese text with no code, or a
  photo-like page) and a page scanned twice.

Every decision is kept in a :class:`ScanTruth` (what is really on each returned form and
where its page ended up), so round-trip tests can compare what the reader says, record by
record, and :func:`score` counts right, flagged and silently wrong values.
:func:`simulate_text_layer` gives the unmodified text-layer PDF with its truth (printed
values, nothing signed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from fanpin_forms.app import App
from fanpin_forms.forms.model import CIRCLED, FormSpec
from fanpin_forms.readback.geometry import DateArea, PageGeometry, Rect, SignArea, page_geometry
from fanpin_forms.intake.records import Record
from fanpin_forms.render.context import record_context, record_ident
from fanpin_forms.render.fill import compile_for
from fanpin_forms.render.names import BOX_EMPTY, BOX_TICKED
from fanpin_forms.render.pdfout import merged_pdf
from fanpin_forms.testing.households import households  # noqa: F401 -- scansim.households(...)

YEAR = 2022  # baseline year printed on the forms
SERIAL_DAY = dt.date(2022, 11, 29)  # the day in the serial of blank forms
STANDARD_DPI = (150, 200, 240, 300)
TICK_STYLES = ("tick", "cross", "fill")

SANS_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SERIF_CJK = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
CJK_SC_INDEX = 2  # Noto CJK collections: JP, KR, SC, TC, HK
DIGIT_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
               "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Oblique.ttf",
               "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
               SANS_CJK)
NOTICE = Path(__file__).resolve().parent / "data" / "seed_notice_yueyang_2022.txt"

BLUE_INKS = ((22, 40, 140), (30, 55, 170), (15, 30, 110))
BLACK_INKS = ((25, 25, 30), (40, 40, 45), (10, 10, 20))
SEAL_RED = (215, 30, 40)
PRINT_RED = (200, 25, 35)


# --- truth ----------------------------------------------------------------------------------


@dataclass
class SignerTruth:
    role: str
    marks: tuple[str, ...]  # what the form asks for: 签字 / 按手印 / 盖章
    signature: bool = False  # a handwritten signature is there
    seal: bool = False  # a red seal is there
    thumbprint: bool = False  # a red thumbprint is there

    @property
    def present(self) -> bool:
        """Signed in any way the form allows (signature, seal or thumbprint)."""
        return self.signature or self.seal or self.thumbprint


@dataclass
class StageTruth:
    key: str
    signers: list[SignerTruth]
    date: dt.date | None  # the handwritten date, None if none was written
    codes: dict[str, list[int]]  # every code field of the stage → ticked codes (printed ☑ + by hand)
    hand_ticked: dict[str, list[int]] = field(default_factory=dict)  # the boxes ticked by hand
    has_date_line: bool = True

    @property
    def present(self) -> list[bool]:
        return [s.present for s in self.signers]

    @property
    def signed(self) -> bool:
        return all(self.present)


@dataclass
class PageScan:
    """How one physical page was scanned (one entry per copy in the output)."""

    file: str
    page: int
    dpi: int
    rotation: int  # quarter turn applied, degrees counter-clockwise (PIL's sense)
    skew: float  # degrees, counter-clockwise
    jpeg_quality: int
    blur: float
    noise: float


@dataclass
class FormTruth:
    """What is really on one returned form."""

    form: str
    version: str
    case_id: str | None
    serial: str | None
    row: int | None
    filled: bool  # pre-filled from a record (else a blank form)
    codes: dict[str, list[int]]  # boxes outside the stages (annex 1's header)
    stages: dict[str, StageTruth]
    pages: list[tuple[str, int]] = field(default_factory=list)  # (file, page) of each page, first copy
    values: dict[str, Any] = field(default_factory=dict)  # the record's values printed on it
    scans: list[PageScan] = field(default_factory=list)  # every copy of every page
    hand_header: dict[str, list[int]] = field(default_factory=dict)  # header boxes ticked by hand
    ink: dict[str, list] = field(default_factory=dict, repr=False, compare=False)  # where ink went (ink_page)
    spec: FormSpec | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.form, self.ident)

    @property
    def ident(self) -> str:
        if self.case_id is not None:
            return f"C:{self.case_id}"
        if self.serial is not None:
            return f"S:{self.serial}"
        return f"R:{self.row}"


@dataclass
class ScanTruth:
    file: str
    forms: list[FormTruth]
    foreign_pages: list[tuple[str, int]]
    duplicate_pages: list[tuple[str, int]]  # the later copy of a page scanned twice
    duplicate_of: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    pages_total: int = 0
    text_layer: bool = False

    def form(self, form_id: str, ident: str) -> FormTruth:
        return next(f for f in self.forms if f.form == form_id and f.ident == ident)

    def page_owner(self) -> dict[tuple[str, int], FormTruth]:
        out = {}
        for f in self.forms:
            for p in f.pages:
                out[p] = f
        for dup, orig in self.duplicate_of.items():
            if orig in out:
                out[dup] = out[orig]
        return out


# --- households -------------------------------------------------------------------------------

def load_records(app: App, form_id: str, rows: list[dict], workdir: Path | None = None) -> list[Record]:
    """Rows → real records through the product's loader (fails on any rejected row)."""
    with tempfile.TemporaryDirectory(prefix="scansim-rows-") as tmp:
        path = Path(workdir or tmp) / f"{form_id}_rows.json"
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        result = app.load_and_check(app.form(form_id), path)
    if result.errors:
        raise ValueError(f"invented rows rejected: {[str(p) for p in result.errors[:5]]}")
    return result.records


# --- printing through the product --------------------------------------------------------------

_PDF_CACHE: dict[str, bytes] = {}


@dataclass
class Printed:
    """One printed form page, before it is signed and scanned."""

    form: FormSpec
    record: Record | None
    ident: str
    pdf: Path  # the text-layer PDF it is a page of
    page: int  # 1-based page in ``pdf``


def _contexts(app: App, forms: Sequence[tuple[str, Sequence[Record] | int]], year: int
              ) -> dict[str, list[tuple[Record | None, str, dict]]]:
    by_form: dict[str, list[tuple[Record | None, str, dict]]] = {}
    serials: dict[str, int] = {}
    for form_id, what in forms:
        form = app.form(form_id)
        items = by_form.setdefault(form_id, [])
        if isinstance(what, int):
            for _ in range(what):
                serials[form_id] = serials.get(form_id, 0) + 1
                ident = f"S:{form_id}-{SERIAL_DAY:%Y%m%d}-{serials[form_id]}"
                items.append((None, ident, record_context(form, None, app.county, year, ident, types=app.field_types)))
        else:
            for i, record in enumerate(what):
                ident = record_ident(record, i + 1)
                items.append((record, ident, record_context(form, record, app.county, year, ident,
                                                           types=app.field_types)))
    return by_form


def print_forms(app: App, forms: Sequence[tuple[str, Sequence[Record] | int]], workdir: Path, *,
                year: int = YEAR) -> list[Printed]:
    """Print every form through ``merged_pdf`` (one PDF per form type; LibreOffice output
    is cached in memory by content, so re-running a seed costs no LibreOffice time)."""
    out: list[Printed] = []
    for form_id, items in _contexts(app, forms, year).items():
        if not items:
            continue
        form = app.form(form_id)
        contexts = [c for _, _, c in items]
        key = hashlib.sha256(json.dumps([form_id, form.version, contexts], ensure_ascii=False, sort_keys=True,
                                        default=str).encode()).hexdigest()
        pdf = Path(workdir) / f"printed-{form_id}-{key[:12]}.pdf"
        if key in _PDF_CACHE:
            pdf.write_bytes(_PDF_CACHE[key])
        else:
            merged_pdf(compile_for(form, None), contexts, pdf, label=form_id)
            _PDF_CACHE[key] = pdf.read_bytes()
        out.extend(Printed(form, record, ident, pdf, i + 1) for i, (record, ident, _) in enumerate(items))
    return out


# --- where things are on a printed page ----------------------------------------------------------


@dataclass(frozen=True)
class Box:
    stage: str | None
    field: str
    code: int
    rect: Rect  # the ☐ glyph's character box (points)
    printed_ticked: bool

    @property
    def square(self) -> Rect:
        """The drawn square inside the glyph box (DejaVu Sans ☐: lower 70 %, 10 % side margins)."""
        w = self.rect.width
        x0, x1 = self.rect.x0 + 0.10 * w, self.rect.x1 - 0.10 * w
        bottom = self.rect.bottom - 0.01 * self.rect.height
        return Rect(x0, bottom - (x1 - x0), x1, bottom)


@dataclass
class Layout:
    """Everything the simulator needs to know about one printed page."""

    geometry: PageGeometry
    boxes: list[Box]  # found independently of geometry.boxes (a box whose numeral wrapped counts)
    date_chars: dict[str, tuple[Rect, Rect, Rect]]  # stage → rects of 年, 月, 日
    year_room: dict[str, float]  # stage → where printed text left of 年 ends (x, points)
    width: float
    height: float


def box_sequence(form: FormSpec) -> list[tuple[str | None, str, int]]:
    """(stage, field, code) of every printed tick box, in printing order, from the spec."""
    from fanpin_forms.readback import geometry as G

    return G._box_sequence(form)


def find_boxes(page, form: FormSpec) -> list[Box]:
    """Tick boxes from a pdfplumber page: every ☐/☑ glyph paired with the next circled numeral
    in reading order, even when the numeral wrapped to the next line; (stage, field) from the
    spec's printing order."""
    chars = [c for c in page.chars if c["text"].strip()]
    rows: list[list[dict]] = []
    for c in sorted(chars, key=lambda c: (round(c["top"]), c["x0"])):
        if rows and abs(rows[-1][0]["top"] - c["top"]) < 3:
            rows[-1].append(c)
        else:
            rows.append([c])
    flat = [c for r in rows for c in sorted(r, key=lambda c: c["x0"])]
    glyphs = []
    for i, c in enumerate(flat):
        if c["text"] in (BOX_EMPTY, BOX_TICKED) and i + 1 < len(flat) and flat[i + 1]["text"] in CIRCLED:
            glyphs.append((c, CIRCLED.index(flat[i + 1]["text"])))
    seq = box_sequence(form)
    boxes, j = [], 0
    for glyph, no in glyphs:
        k = j
        while k < len(seq) and seq[k][2] != no:
            k += 1
        if k == len(seq):
            continue  # a box the spec does not know: not ours to tick
        stage, key, _ = seq[k]
        j = k + 1
        boxes.append(Box(stage, key, no, Rect(glyph["x0"], glyph["top"], glyph["x1"], glyph["bottom"]),
                         glyph["text"] == BOX_TICKED))
    return boxes


def _date_chars(page, date: DateArea) -> tuple[Rect, Rect, Rect] | None:
    line = date.line
    found = {}
    for c in page.chars:
        if c["text"] in "年月日" and abs(c["top"] - line.top) < 3 and line.x0 - 1 <= c["x0"] <= line.x1 + 1:
            found.setdefault(c["text"], Rect(c["x0"], c["top"], c["x1"], c["bottom"]))
    if len(found) != 3:
        return None
    return found["年"], found["月"], found["日"]


def _text_end_before(page, rect: Rect, limit: float) -> float:
    """Right edge of the printed text on ``rect``'s line left of it (``limit`` if none is closer)."""
    xs = [c["x1"] for c in page.chars if c["text"].strip() and abs(c["top"] - rect.top) < 3
          and limit <= c["x1"] <= rect.x0 + 0.5]
    return max(xs, default=limit)


def page_layout(page, form: FormSpec, county_values: dict[str, str]) -> Layout:
    geo = page_geometry(page, form, county_values)
    dates, room = {}, {}
    for d in geo.dates:
        rects = _date_chars(page, d)
        if rects:
            dates[d.stage] = rects
            room[d.stage] = _text_end_before(page, rects[0], rects[0].x0 - 48)
    return Layout(geo, find_boxes(page, form), dates, room, float(page.width), float(page.height))


# --- deciding what is on the paper -----------------------------------------------------------------


def _code_fields(form: FormSpec, stage: str | None) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for st, key, no in box_sequence(form):
        if st == stage:
            out.setdefault(key, []).append(no)
    return out


def _printed_codes(record: Record | None, key: str) -> set[int]:
    if record is None:
        return set()
    value = record.values.get(key)
    if value is None:
        return set()
    return set(value) if isinstance(value, (tuple, list, set, frozenset)) else {value}


def _choose_ticks(rng: random.Random, fields: dict[str, list[int]], record: Record | None
                  ) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """(all ticked codes per field, codes ticked by hand per field)."""
    codes: dict[str, list[int]] = {}
    hand: dict[str, list[int]] = {}
    none_at_all = record is None and rng.random() < 0.2
    for key, nos in fields.items():
        printed = _printed_codes(record, key) & set(nos)
        if record is None:
            k = 0 if none_at_all else rng.choices((0, 1, 2, 3), weights=(25, 45, 20, 10))[0]
            ticked = set(rng.sample(nos, min(k, len(nos))))
            by_hand = set(ticked)
        else:
            by_hand = set()
            free = [n for n in nos if n not in printed]
            if free and rng.random() < 0.25:
                by_hand.add(rng.choice(free))
            if printed and rng.random() < 0.25:  # a ✓ drawn over a printed ☑ changes nothing
                by_hand.add(rng.choice(sorted(printed)))
            ticked = printed | by_hand
        codes[key] = sorted(ticked)
        hand[key] = sorted(by_hand)
    return codes, hand


def _random_date(rng: random.Random) -> dt.date:
    start = dt.date(2022, 6, 1)
    return start + dt.timedelta(days=rng.randint(0, 395))


def _choose_stage(rng: random.Random, form: FormSpec, stage, record: Record | None) -> StageTruth:
    codes, hand = _choose_ticks(rng, _code_fields(form, stage.key), record)
    done = rng.random() < 0.75
    signers = []
    for signer in stage.signers:
        s = SignerTruth(signer.role, tuple(signer.marks))
        if done and rng.random() < 0.92:
            if "盖章" in signer.marks and "签字" not in signer.marks:
                s.seal = True
            elif "按手印" in signer.marks:
                s.signature = rng.random() < 0.85
                s.thumbprint = (not s.signature) or rng.random() < 0.6
            else:
                s.signature = True
        signers.append(s)
    date = None
    if stage.date and rng.random() < (0.92 if done else 0.05):
        date = _random_date(rng)
    return StageTruth(stage.key, signers, date, codes, hand, has_date_line=bool(stage.date))


def decide(rng: random.Random, form: FormSpec, record: Record | None, ident: str) -> FormTruth:
    from fanpin_forms.pagemark import split_ident

    kind, value = split_ident(ident)
    header, hand_header = _choose_ticks(rng, _code_fields(form, None), record)
    stages = {st.key: _choose_stage(rng, form, st, record) for st in form.stages}
    return FormTruth(form.id, form.version, value if kind == "C" else None, value if kind == "S" else None,
                     int(value) if kind == "R" else None, record is not None, header, stages,
                     values=dict(record.values) if record is not None else {}, hand_header=hand_header, spec=form)


# --- drawing --------------------------------------------------------------------------------------

_FONTS: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    size = max(6, int(size))
    key = (path, size)
    if key not in _FONTS:
        index = CJK_SC_INDEX if path.endswith(".ttc") else 0
        _FONTS[key] = ImageFont.truetype(path, size, index=index)
    return _FONTS[key]


class Pen:
    """Draws in pixels on an RGB page; positions are given in points."""

    def __init__(self, image: Image.Image, dpi: int, rng: random.Random):
        self.image, self.dpi, self.rng = image, dpi, rng
        self.f = dpi / 72.0
        self.draw = ImageDraw.Draw(image)

    def px(self, x: float, y: float) -> tuple[float, float]:
        return (x * self.f, y * self.f)

    def width(self, at200: tuple[float, float] = (2.0, 4.0)) -> int:
        return max(1, round(self.rng.uniform(*at200) * self.dpi / 200))

    def polyline(self, points_pt: list[tuple[float, float]], ink, width: int) -> None:
        pts = [self.px(x, y) for x, y in points_pt]
        self.draw.line(pts, fill=ink, width=width, joint="curve")
        r = width / 2
        for x, y in (pts[0], pts[-1]):
            self.draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)

    def multiply(self, mask: np.ndarray, left: int, top: int, color, strength: float) -> None:
        """Blend a colour into the page where ``mask`` (0..1) is, like ink over print."""
        h, w = mask.shape
        W, H = self.image.size
        x0, y0, x1, y1 = max(0, left), max(0, top), min(W, left + w), min(H, top + h)
        if x0 >= x1 or y0 >= y1:
            return
        m = mask[y0 - top:y1 - top, x0 - left:x1 - left][..., None] * strength
        region = np.asarray(self.image.crop((x0, y0, x1, y1)), dtype=np.float32)
        tint = np.array(color, dtype=np.float32) / 255.0
        out = region * (1.0 - m * (1.0 - tint))
        self.image.paste(Image.fromarray(out.clip(0, 255).astype(np.uint8)), (x0, y0))


def _smooth(points: list[tuple[float, float]], rounds: int = 3) -> list[tuple[float, float]]:
    """Chaikin corner cutting: a hand's curve through the control points."""
    for _ in range(rounds):
        out = [points[0]]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            out += [(0.75 * x0 + 0.25 * x1, 0.75 * y0 + 0.25 * y1), (0.25 * x0 + 0.75 * x1, 0.25 * y0 + 0.75 * y1)]
        out.append(points[-1])
        points = out
    return points


def draw_tick(pen: Pen, square: Rect, style: str, ink) -> None:
    rng = pen.rng
    s = square.width
    j = lambda: rng.uniform(-0.08, 0.08) * s  # noqa: E731
    w = pen.width()
    if style == "tick":
        a = (square.x0 + 0.12 * s + j(), square.top + 0.50 * s + j())
        b = (square.x0 + 0.42 * s + j(), square.bottom - 0.10 * s + j())
        c = (square.x1 + rng.uniform(0.0, 0.3) * s, square.top - rng.uniform(0.0, 0.35) * s)
        pen.polyline(_smooth([a, ((a[0] + b[0]) / 2 + j() / 2, (a[1] + b[1]) / 2), b, c], 2), ink, w)
    elif style == "cross":
        o = lambda: rng.uniform(-0.05, 0.18) * s  # noqa: E731
        pen.polyline([(square.x0 - o(), square.top - o()), (square.x1 + o(), square.bottom + o())], ink, w)
        pen.polyline([(square.x1 + o(), square.top - o()), (square.x0 - o(), square.bottom + o())], ink, w)
    else:  # fill: zig-zag hatching over the inside
        pts = []
        n = rng.randint(4, 6)
        for i in range(n + 1):
            y = square.top + 0.12 * s + (0.76 * s) * i / n + j() / 3
            pts.append((square.x0 + 0.12 * s + j() / 3, y) if i % 2 == 0 else (square.x1 - 0.12 * s + j() / 3, y))
        pen.polyline(pts, ink, max(w, round(0.2 * s * pen.f)))


def draw_scribble(pen: Pen, box: Rect, ink) -> None:
    """A cursive signature: a few connected loops left to right, then a flourish."""
    rng = pen.rng
    strokes = rng.randint(1, 3)
    w = pen.width((2.0, 3.5))
    span = box.width / strokes
    for k in range(strokes):
        x, pts = box.x0 + k * span + rng.uniform(0, 0.1) * span, []
        end = box.x0 + (k + 1) * span - rng.uniform(0, 0.15) * span
        while x < end:
            pts.append((x, rng.uniform(box.top, box.bottom)))
            x += rng.uniform(0.08, 0.22) * box.height + 1.5
            if rng.random() < 0.3:  # a loop back
                pts.append((x - rng.uniform(0.3, 0.7) * box.height * 0.5, rng.uniform(box.top, box.bottom)))
        if len(pts) < 3:
            pts += [(end, box.bottom), (end, box.top)]
        pen.polyline(_smooth(pts, 3), ink, w)
    if rng.random() < 0.5:
        y = rng.uniform(box.top + 0.5 * box.height, box.bottom)
        pen.polyline(_smooth([(box.x0, y), (box.x0 + box.width * 0.5, y + rng.uniform(-2, 2)),
                              (box.x1, y - rng.uniform(0, 3))], 2), ink, w)


def draw_hand_text(pen: Pen, box: Rect, text: str, ink, *, font: str | None = None, align: str = "left") -> None:
    """``text`` (a name or digits) as by hand: each character jittered in size, angle and place."""
    rng = pen.rng
    font = font or rng.choice(DIGIT_FONTS)
    size_pt = min(box.height * rng.uniform(0.75, 0.95), box.width / max(1, len(text)) * 1.6)
    f = _font(font, size_pt * pen.f)
    advance = [f.getlength(ch) / pen.f * rng.uniform(1.02, 1.18) for ch in text]
    total = sum(advance)
    x = box.x0 if align == "left" else (box.x1 - total if align == "right" else (box.x0 + box.x1 - total) / 2)
    for ch, adv in zip(text, advance):
        tile = Image.new("L", (int(f.size * 1.6) + 4, int(f.size * 1.6) + 4), 0)
        ImageDraw.Draw(tile).text((2, 2), ch, font=f, fill=255)
        if pen.dpi >= 240 and rng.random() < 0.5:  # a thicker pen
            tile = tile.filter(ImageFilter.MaxFilter(3))
        tile = tile.rotate(rng.uniform(-7, 7), resample=Image.Resampling.BILINEAR)
        y = box.top + (box.height - size_pt) / 2 + rng.uniform(-0.12, 0.12) * size_pt
        px, py = pen.px(x + rng.uniform(-0.08, 0.08) * size_pt, y - 0.2 * size_pt)
        pen.image.paste(Image.new("RGB", tile.size, ink), (int(px), int(py)), tile)
        x += adv


def _seal_mask(rng: random.Random, radius_px: int, text: str) -> np.ndarray:
    """A round official seal: ring, five-pointed star, the office's name around the top."""
    size = 2 * radius_px + 4
    img = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(img)
    c = size / 2
    ring = max(2, int(radius_px * 0.07))
    d.ellipse((c - radius_px, c - radius_px, c + radius_px, c + radius_px), outline=255, width=ring)
    star_r = radius_px * 0.3
    pts = []
    for i in range(10):
        r = star_r if i % 2 == 0 else star_r * 0.4
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((c + r * math.cos(a), c + r * math.sin(a)))
    d.polygon(pts, fill=255)
    font = _font(SANS_CJK, radius_px * 0.32)
    n = len(text)
    spread = math.radians(min(250, 30 * n))
    for i, ch in enumerate(text):
        a = -math.pi / 2 - spread / 2 + spread * (i + 0.5) / n
        tile = Image.new("L", (int(font.size * 1.5), int(font.size * 1.5)), 0)
        ImageDraw.Draw(tile).text((font.size * 0.25, font.size * 0.1), ch, font=font, fill=255)
        tile = tile.rotate(-math.degrees(a) - 90, resample=Image.Resampling.BILINEAR)
        rr = radius_px - ring - font.size * 0.72
        x, y = c + rr * math.cos(a) - tile.width / 2, c + rr * math.sin(a) - tile.height / 2
        img.paste(255, (int(x), int(y)), tile)
    mask = np.asarray(img, dtype=np.float32) / 255.0
    # uneven ink: the stamp pad never inks evenly
    h = mask.shape[0]
    yy, xx = np.mgrid[0:h, 0:h].astype(np.float32)
    wave = 0.75 + 0.25 * np.sin(xx / h * rng.uniform(3, 7) + rng.uniform(0, 6)) * np.cos(yy / h * rng.uniform(2, 6))
    return mask * wave


def _thumb_mask(rng: random.Random, a_px: int, b_px: int) -> np.ndarray:
    """A red thumbprint: an ellipse of curved ridges."""
    h, w = 2 * b_px + 2, 2 * a_px + 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    x, y = (xx - w / 2) / a_px, (yy - h / 2) / b_px
    r = np.sqrt(x * x + (y + 0.25) ** 2 * 0.8)
    warp = 0.6 * np.sin(x * rng.uniform(2, 4) + rng.uniform(0, 6)) + 0.4 * np.sin(y * rng.uniform(3, 5))
    ridges = 0.5 + 0.5 * np.sin(r * rng.uniform(22, 30) + warp + 1.5 * x * y)
    inside = (x * x + y * y) <= 1.0
    edge = np.clip((1.0 - np.sqrt(x * x + y * y)) * 6, 0, 1)
    return (ridges > 0.45).astype(np.float32) * inside * edge * rng.uniform(0.75, 0.95)


def draw_seal(pen: Pen, sign: SignArea, text: str) -> Rect:
    rng = pen.rng
    area, label = sign.area, sign.label
    r = rng.uniform(34, 46)
    r = min(r, area.height / 2 - 1, area.width / 2 - 1)
    cx = label.x0 + label.width * rng.uniform(0.35, 0.95)
    cy = (label.top + label.bottom) / 2 + rng.uniform(-12, 12)
    cx = min(max(cx, area.x0 + r), area.x1 - r)
    cy = min(max(cy, area.top + r), area.bottom - r)
    rp = int(r * pen.f)
    mask = _seal_mask(rng, rp, text)
    size = mask.shape[0]
    img = Image.fromarray((mask * 255).astype(np.uint8)).rotate(rng.uniform(-25, 25),
                                                                 resample=Image.Resampling.BILINEAR)
    mask = np.asarray(img, dtype=np.float32) / 255.0
    pen.multiply(mask, int(cx * pen.f - size / 2), int(cy * pen.f - size / 2), SEAL_RED, rng.uniform(0.75, 0.95))
    return Rect(cx - r, cy - r, cx + r, cy + r)


def draw_thumbprint(pen: Pen, sign: SignArea, near: Rect | None) -> Rect:
    rng = pen.rng
    area, label = sign.area, sign.label
    a, b = rng.uniform(14, 18), rng.uniform(19, 24)
    if near is not None and rng.random() < 0.6:  # over the name
        cx, cy = near.x0 + near.width * rng.uniform(0.3, 0.8), (near.top + near.bottom) / 2
    else:
        cx = label.x1 + rng.uniform(a + 2, max(a + 3, (area.x1 - label.x1) - a - 2))
        cy = (label.top + label.bottom) / 2 + rng.uniform(-6, 6)
    cx = min(max(cx, area.x0 + a), area.x1 - a)
    cy = min(max(cy, area.top + b), area.bottom - b)
    mask = _thumb_mask(rng, int(a * pen.f), int(b * pen.f))
    img = Image.fromarray((mask * 255).astype(np.uint8)).rotate(rng.uniform(-30, 30),
                                                                 resample=Image.Resampling.BILINEAR)
    mask = np.asarray(img, dtype=np.float32) / 255.0
    pen.multiply(mask, int((cx - a) * pen.f), int((cy - b) * pen.f), SEAL_RED, 0.9)
    return Rect(cx - a, cy - b, cx + a, cy + b)


def signature_box(rng: random.Random, sign: SignArea) -> Rect | None:
    """Where a signature goes: right of the label, on its line; where the date follows
    close behind the label (annex 3), partly over the label's end."""
    label, area = sign.label, sign.area
    x0 = label.x1 + rng.uniform(2, 8)
    room = area.x1 - 2 - x0
    shift = 0.0
    if room < 40:
        x0 = max(label.x0, area.x1 - 2 - rng.uniform(42, 60))
        room = area.x1 - 2 - x0
        shift = rng.uniform(1.0, 4.0)  # a little below the printed line
    if room < 18:
        return None
    width = min(room, rng.uniform(45, 95))
    h = rng.uniform(13, 20)
    cy = (label.top + label.bottom) / 2 + rng.uniform(-2.5, 1.5) + shift
    top = max(area.top, cy - h / 2)
    return Rect(x0, top, x0 + width, min(area.bottom, top + h))


def draw_date(pen: Pen, chars: tuple[Rect, Rect, Rect], date: dt.date, ink, text_end: float | None = None) -> Rect:
    """The date in the blanks of 年 月 日; returns where the year went. ``text_end``: where
    printed text left of 年 ends: with too little room the year is written smaller and a
    little higher, over at most ~10 pt of that text (annex 3's 县级审定 line)."""
    rng = pen.rng
    nian, yue, ri = chars
    font = rng.choice(DIGIT_FONTS)
    h = nian.height
    y_top = nian.top - rng.uniform(0.5, 2.5)
    right = nian.x0 - rng.uniform(0.5, 2)
    width = rng.uniform(32, 40)
    year_top, year_h = y_top, h + 1
    room = right - (text_end if text_end is not None else nian.x0 - 48) - 1
    if room < width:
        width = max(room, 0) + rng.uniform(4, 10) if room < 26 else room
        width = max(width, 22.0)
        year_h = min(h + 1, width / 4 * 1.45)
        year_top = nian.top - rng.uniform(1.5, 4.0)
    year = str(date.year)
    month = str(date.month) if rng.random() < 0.7 else f"{date.month:02d}"
    day = str(date.day) if rng.random() < 0.7 else f"{date.day:02d}"
    year_box = Rect(right - width, year_top, right, year_top + year_h)
    draw_hand_text(pen, year_box, year, ink, font=font, align="right")
    draw_hand_text(pen, Rect(nian.x1 + 1, y_top, yue.x0 - 1, y_top + h + 1), month, ink, font=font, align="center")
    draw_hand_text(pen, Rect(yue.x1 + 1, y_top, ri.x0 - 1, y_top + h + 1), day, ink, font=font, align="center")
    return year_box


_NAMES = "李王张刘陈杨黄赵周吴徐孙胡朱郭何高林罗" + "建国秀英德明桂兰志强淑珍春生玉梅海涛丽华"


def ink_page(image: Image.Image, dpi: int, layout: Layout, truth: FormTruth, rng: random.Random,
             tick_styles: Sequence[str], county_name: str) -> dict[str, list]:
    """Draw everything ``truth`` says was done by hand onto the upright page image.

    Returns where it drew (points), for tests: {"ticks": [(stage, field, code, Rect, style)],
    "signatures": [(stage, i, Rect)], "seals": [...], "thumbprints": [...], "dates": [(stage, Rect)]}."""
    pen = Pen(image, dpi, rng)
    drawn: dict[str, list] = {"ticks": [], "signatures": [], "seals": [], "thumbprints": [], "dates": []}
    style_of_page = rng.choice(list(tick_styles))
    ink_of_page = rng.choice(BLUE_INKS + BLACK_INKS)
    for box in layout.boxes:
        hand = truth.hand_header if box.stage is None else truth.stages[box.stage].hand_ticked
        if box.code in hand.get(box.field, ()):
            style = style_of_page if rng.random() < 0.8 else rng.choice(list(tick_styles))
            if box.printed_ticked and style == "fill":
                style = "tick"
            draw_tick(pen, box.square, style, ink_of_page)
            drawn["ticks"].append((box.stage, box.field, box.code, box.square, style))
    seals = []
    for sign in layout.geometry.signs:
        st = truth.stages.get(sign.stage)
        if st is None or sign.index >= len(st.signers):
            continue
        s = st.signers[sign.index]
        ink = rng.choice(BLUE_INKS + BLACK_INKS)
        where = None
        if s.signature:
            where = signature_box(rng, sign)
            if where is None:
                raise RuntimeError(f"no room to sign {sign.stage}/{sign.index} on {truth.ident}")
            if rng.random() < 0.5:
                name = "".join(rng.sample(_NAMES, rng.choice((2, 3))))
                draw_hand_text(pen, where, name, ink, font=rng.choice((SANS_CJK, SERIF_CJK)))
            else:
                draw_scribble(pen, where, ink)
            drawn["signatures"].append((sign.stage, sign.index, where))
        if s.thumbprint:
            drawn["thumbprints"].append((sign.stage, sign.index, draw_thumbprint(pen, sign, where)))
        if s.seal:
            seals.append(sign)
    for stage, st in truth.stages.items():
        if st.date is not None:
            chars = layout.date_chars.get(stage)
            if chars is None:
                raise RuntimeError(f"no date line for {stage} on {truth.ident}")
            year = draw_date(pen, chars, st.date, rng.choice(BLUE_INKS + BLACK_INKS), layout.year_room.get(stage))
            nian, _, ri = chars
            drawn["dates"].append((stage, Rect(year.x0, min(year.top, nian.top - 3), ri.x0, ri.bottom + 3)))
    for sign in seals:  # stamped last, over everything
        office = county_name + "乡村振兴局"
        drawn["seals"].append((sign.stage, sign.index, draw_seal(pen, sign, office)))
    return drawn


# --- scanning ---------------------------------------------------------------------------------------


def rasterise(pdf: Path, page: int, dpi: int) -> Image.Image:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return doc[page - 1].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()


def _pick_dpi(rng: random.Random, dpi: int | tuple[int, int]) -> int:
    if isinstance(dpi, int):
        return dpi
    lo, hi = dpi
    choices = [d for d in STANDARD_DPI if lo <= d <= hi]
    return rng.choice(choices) if choices else rng.randint(lo, hi)


@dataclass
class ScanParams:
    rotation: int = 0
    skew: float = 0.0
    blur: float = 0.0
    noise: float = 0.0
    quality: int = 85
    tone: float = 1.0
    shift: tuple[int, int] = (0, 0)


def scan_params(rng: random.Random, *, rotate: bool, skew_deg: float, noise: bool,
                jpeg_quality: int | tuple[int, int]) -> ScanParams:
    p = ScanParams()
    if rotate:
        p.rotation = rng.choices((0, 90, 180, 270), weights=(70, 10, 10, 10))[0]
    p.skew = rng.uniform(-skew_deg, skew_deg) if skew_deg else 0.0
    if noise:
        p.blur = rng.uniform(0.0, 0.8)
        p.noise = rng.uniform(2.0, 9.0)
        p.tone = rng.uniform(0.90, 1.0)
    p.quality = jpeg_quality if isinstance(jpeg_quality, int) else rng.randint(*jpeg_quality)
    if skew_deg:  # paper laid on the glass by hand: also a little off the corner
        p.shift = (rng.randint(0, 25), rng.randint(0, 25))
    return p


def scan(image: Image.Image, dpi: int, params: ScanParams, seed: Any) -> bytes:
    """The scanner: turn, skew, shift, blur, tone, noise → JPEG bytes (with its dpi)."""
    img = image
    if params.rotation:
        img = img.transpose({90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
                             270: Image.Transpose.ROTATE_270}[params.rotation])
    if params.skew:
        img = img.rotate(params.skew, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=(255, 255, 255))
    sx, sy = (int(s * dpi / 200) for s in params.shift)
    if sx or sy:
        canvas = Image.new("RGB", (img.width + sx, img.height + sy), (255, 255, 255))
        canvas.paste(img, (sx, sy))
        img = canvas
    a = None
    if params.blur > 0.05:
        import cv2

        a = cv2.GaussianBlur(np.asarray(img), (0, 0), params.blur * dpi / 200)
    if params.noise > 0 or params.tone < 1.0:
        a = np.asarray(img if a is None else a, dtype=np.float32)
        g = np.random.default_rng(int(hashlib.sha256(repr(seed).encode()).hexdigest()[:12], 16))
        n = g.standard_normal(a.shape[:2], dtype=np.float32) * params.noise
        a = (a * params.tone + n[..., None]).clip(0, 255).astype(np.uint8)
    if a is not None:
        img = Image.fromarray(a)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=params.quality, dpi=(dpi, dpi))
    return buf.getvalue()


def foreign_page(rng: random.Random, dpi: int) -> Image.Image:
    """A page that is not one of our forms: a cover letter (Chinese text, a rule, a table, a
    red header) or a photo-like page. It carries no QR code and no form title."""
    f = dpi / 72
    w, h = int(595 * f), int(842 * f)
    if rng.random() < 0.25:
        g = np.random.default_rng(rng.randint(0, 2**31))
        small = g.integers(0, 255, (12, 9, 3)).astype(np.uint8)
        img = Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)
        a = np.asarray(img, dtype=np.float32) + g.normal(0, 20, (h, w, 1)).astype(np.float32)
        return Image.fromarray(a.clip(0, 255).astype(np.uint8))
    img = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(img)
    lines = [ln.strip() for ln in NOTICE.read_text(encoding="utf-8").split("- 附件")[0].splitlines() if ln.strip()]
    font = _font(SERIF_CJK, 11 * f)
    d.text((int(120 * f), int(60 * f)), "岳阳县乡村振兴战略指挥部办公室文件", font=_font(SANS_CJK, 20 * f), fill=PRINT_RED)
    d.line((int(70 * f), int(95 * f), int(525 * f), int(95 * f)), fill=PRINT_RED, width=max(1, int(1.5 * f)))
    y = 115.0
    start = rng.randint(0, max(0, len(lines) - 8))
    per_line = 38
    for para in lines[start:]:
        for i in range(0, len(para), per_line):
            d.text((int(72 * f), int(y * f)), para[i:i + per_line], font=font, fill=(20, 20, 20))
            y += 17
            if y > 640:
                break
        if y > 640:
            break
    top = 660
    for r in range(5):
        d.line((int(72 * f), int((top + r * 30) * f), int(523 * f), int((top + r * 30) * f)), fill=(0, 0, 0),
               width=max(1, int(f)))
    for x in (72, 200, 360, 523):
        d.line((int(x * f), int(top * f), int(x * f), int((top + 120) * f)), fill=(0, 0, 0), width=max(1, int(f)))
    return img


def write_image_pdf(path: Path, pages: Sequence[tuple[bytes, int, int, float]]) -> Path:
    """An image-only PDF: each page one JPEG (DCTDecode), page size = pixels × 72 / dpi."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    add(b"<< /Type /Catalog /Pages 2 0 R >>")
    add(b"")  # pages tree, filled in below
    kids = []
    for jpeg, w, h, dpi in pages:
        pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
        img = add(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                  b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % (w, h, len(jpeg))
                  + jpeg + b"\nendstream")
        content = b"q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q" % (pw, ph)
        cont = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] /Resources << /XObject "
                        b"<< /Im0 %d 0 R >> >> /Contents %d 0 R >>" % (pw, ph, img, cont)))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    Path(path).write_bytes(out.getvalue())
    return Path(path)


def _jpeg_size(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as im:
        return im.size


# --- the simulator ------------------------------------------------------------------------------------


def simulate(app: App, out_pdf: Path, *, forms: Sequence[tuple[str, Sequence[Record] | int]], seed: int,
             dpi: int | tuple[int, int] = (150, 300), rotate: bool = True, skew_deg: float = 3.0,
             noise: bool = True, jpeg_quality: int | tuple[int, int] = (50, 90), shuffle: bool = True,
             foreign: int = 1, duplicate: int = 1, tick_style: Sequence[str] = TICK_STYLES,
             year: int = YEAR, drawn: dict | None = None) -> ScanTruth:
    """Print ``forms`` (``(form_id, records)`` pre-filled, ``(form_id, n)`` n blank forms), sign
    and scan them into the image-only PDF ``out_pdf``; return the truth. If ``out_pdf`` does
    not end in ``.pdf`` it is a folder that gets one JPEG per page (``scan-0001.jpg`` …).

    ``drawn``: if given, filled for tests with {(form, ident): {"layout", "dpi", "drawn" (where
    ink went, in points), "clean" (the printed page as rasterised), "image" (after inking,
    before scanning)}}."""
    out_pdf = Path(out_pdf)
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"scansim-{seed}")
    county_values = app.county.placeholders(year)
    import pdfplumber

    with tempfile.TemporaryDirectory(prefix="scansim-") as tmp:
        printed = print_forms(app, forms, Path(tmp), year=year)
        truths: list[FormTruth] = []
        scanned: list[dict] = []  # {"kind", "truth", "image"?, "jpeg", "dpi", "params"}
        dup_sources = set(rng.sample(range(len(printed)), min(duplicate, len(printed)))) if printed else set()
        docs: dict[Path, Any] = {}
        try:
            for i, item in enumerate(printed):
                tag = f"scansim-{seed}-page-{i}"
                truth = decide(random.Random(tag + "-decide"), item.form, item.record, item.ident)
                if item.pdf not in docs:
                    docs[item.pdf] = pdfplumber.open(str(item.pdf))
                layout = page_layout(docs[item.pdf].pages[item.page - 1], item.form, county_values)
                page_dpi = _pick_dpi(random.Random(tag + "-dpi"), dpi)
                image = rasterise(item.pdf, item.page, page_dpi)
                clean = image.copy() if drawn is not None else None
                where = ink_page(image, page_dpi, layout, truth, random.Random(tag + "-ink"), tick_style,
                                 app.county.short_name or "")
                truth.ink = where
                if drawn is not None:
                    drawn[truth.key] = {"layout": layout, "dpi": page_dpi, "drawn": where, "image": image.copy(),
                                        "clean": clean}
                copies = 2 if i in dup_sources else 1
                for c in range(copies):
                    params = scan_params(random.Random(f"{tag}-scan-{c}"), rotate=rotate, skew_deg=skew_deg,
                                         noise=noise, jpeg_quality=jpeg_quality)
                    jpeg = scan(image, page_dpi, params, (seed, i, c))
                    scanned.append({"kind": "form", "truth": truth, "copy": c, "jpeg": jpeg, "dpi": page_dpi,
                                    "params": params})
                truths.append(truth)
        finally:
            for d in docs.values():
                d.close()
        for k in range(foreign):
            frng = random.Random(f"scansim-{seed}-foreign-{k}")
            page_dpi = _pick_dpi(frng, dpi)
            params = scan_params(frng, rotate=rotate, skew_deg=skew_deg, noise=noise, jpeg_quality=jpeg_quality)
            scanned.append({"kind": "foreign", "jpeg": scan(foreign_page(frng, page_dpi), page_dpi, params,
                                                            (seed, "foreign", k)),
                            "dpi": page_dpi, "params": params})
    if shuffle:
        rng.shuffle(scanned)
    as_images = out_pdf.suffix.lower() != ".pdf"
    if as_images:
        out_pdf.mkdir(parents=True, exist_ok=True)
    file = str(out_pdf)
    result = ScanTruth(file, truths, [], [], pages_total=len(scanned))
    first: dict[tuple[str, str], tuple[str, int]] = {}
    pdf_pages = []
    for n, entry in enumerate(scanned, 1):
        if as_images:  # one JPEG file per page, as many scanners save them
            path = out_pdf / f"scan-{n:04d}.jpg"
            path.write_bytes(entry["jpeg"])
            where = (str(path), 1)
        else:
            where = (file, n)
        p = entry["params"]
        w, h = _jpeg_size(entry["jpeg"])
        pdf_pages.append((entry["jpeg"], w, h, float(entry["dpi"])))
        if entry["kind"] == "foreign":
            result.foreign_pages.append(where)
            continue
        truth: FormTruth = entry["truth"]
        truth.scans.append(PageScan(where[0], where[1], entry["dpi"], p.rotation, p.skew, p.quality, p.blur, p.noise))
        if truth.key in first:
            result.duplicate_pages.append(where)
            result.duplicate_of[where] = first[truth.key]
        else:
            first[truth.key] = where
            truth.pages.append(where)
    if not as_images:
        write_image_pdf(out_pdf, pdf_pages)
    return result


def simulate_text_layer(app: App, out_pdf: Path, *, forms: Sequence[tuple[str, Sequence[Record] | int]],
                        year: int = YEAR) -> ScanTruth:
    """The printed PDF itself (text layer, nothing signed): truth = the printed values."""
    from fanpin_forms.office.libreoffice import merge_pdfs

    out_pdf = Path(out_pdf)
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scansim-text-") as tmp:
        printed = print_forms(app, forms, Path(tmp), year=year)
        pdfs = list(dict.fromkeys(p.pdf for p in printed))
        merge_pdfs(pdfs, out_pdf)
    file = str(out_pdf)
    truths = []
    for n, item in enumerate(printed, 1):
        form = item.form
        header = {k: sorted(_printed_codes(item.record, k) & set(nos)) for k, nos in _code_fields(form, None).items()}
        stages = {}
        for st in form.stages:
            codes = {k: sorted(_printed_codes(item.record, k) & set(nos))
                     for k, nos in _code_fields(form, st.key).items()}
            stages[st.key] = StageTruth(st.key, [SignerTruth(s.role, tuple(s.marks)) for s in st.signers], None, codes,
                                        has_date_line=bool(st.date))
        from fanpin_forms.pagemark import split_ident

        kind, value = split_ident(item.ident)
        truths.append(FormTruth(form.id, form.version, value if kind == "C" else None, value if kind == "S" else None,
                                int(value) if kind == "R" else None, item.record is not None, header, stages,
                                pages=[(file, n)], values=dict(item.record.values) if item.record else {},
                                spec=form))
    return ScanTruth(file, truths, [], [], pages_total=len(printed), text_layer=True)


# --- scoring a reader's result against the truth ---------------------------------------------------------


@dataclass
class Item:
    """One value the reader had to decide."""

    kind: str  # "identity", "tick", "signature", "thumbprint", "seal", "date"
    form: str  # "annex2 C:YY-0001"
    stage: str | None
    what: str  # e.g. "risk_types ⑥", "signer 0", "date"
    truth: Any
    read: Any
    flagged: bool
    note: str = ""  # the reader's reason, when flagged

    @property
    def right(self) -> bool:
        return self.truth == self.read

    @property
    def silent(self) -> bool:
        return not self.right and not self.flagged

    def __str__(self) -> str:
        state = ("ok" if not self.flagged else "ok,flag") if self.right else ("FLAGGED" if self.flagged else "SILENT")
        return (f"{state:7} {self.kind:10} {self.form} {self.stage or '-'} {self.what}: "
                f"truth={self.truth!r} read={self.read!r}" + (f" ({self.note})" if self.note else ""))


@dataclass
class Score:
    items: list[Item]
    accounted: dict[str, Any]  # page accounting checks
    unmatched_records: list[dict]  # records that match no returned form
    problems: list[str]  # structural problems (a form found twice, pages unaccounted for…)

    def of(self, kind: str) -> list[Item]:
        return [i for i in self.items if i.kind == kind]

    @staticmethod
    def _rate(items: list[Item], what: str) -> float:
        if not items:
            return 1.0 if what != "flagged" else 0.0
        if what == "right":
            return sum(i.right for i in items) / len(items)
        if what == "flagged":
            return sum(i.flagged for i in items) / len(items)
        return sum(i.silent for i in items) / len(items)

    def accuracy(self, kind: str) -> float:
        return self._rate(self.of(kind), "right")

    def review_share(self) -> float:
        return self._rate(self.items, "flagged")

    def silent_rate(self) -> float:
        return self._rate(self.items, "silent")

    @property
    def silent(self) -> list[Item]:
        return [i for i in self.items if i.silent]

    @property
    def wrong(self) -> list[Item]:
        return [i for i in self.items if not i.right]


def _record_key(rec: dict) -> tuple[str, str] | None:
    if rec.get("case_id") is not None:
        return (rec.get("form"), f"C:{rec['case_id']}")
    if rec.get("serial") is not None:
        return (rec.get("form"), f"S:{rec['serial']}")
    if rec.get("row") is not None:
        return (rec.get("form"), f"R:{rec['row']}")
    return None


def _flags(rec: dict) -> dict[tuple[str | None, str], dict]:
    return {(f.get("stage"), f.get("item")): f for f in rec.get("needs_review") or []}


def _failed_pages(result) -> set[tuple[str, int | None]]:
    """(file name, page) of every failure; page None: the whole file."""
    import re

    out: set[tuple[str, int | None]] = set()
    for page in getattr(result, "pages", None) or []:
        if isinstance(page, dict) and page.get("status") == "failed":
            out.add((Path(str(page.get("file", ""))).name, page.get("page")))
    for x in getattr(result, "failures", None) or []:
        if not isinstance(x, dict) and getattr(x, "location", None) is not None:
            x = {"source": x.location.file or ""}
        source = x.get("source", "") if isinstance(x, dict) else getattr(x, "source", "")
        page = x.get("page") if isinstance(x, dict) else getattr(x, "page", None)
        m = re.match(r"^(.*) 第(\d+)页$", str(source))
        if m:
            source, page = m.group(1), int(m.group(2))
        out.add((Path(str(source)).name, int(page) if page is not None else None))
    return out


def _codes_of(d: dict | None, key: str) -> list[int]:
    if not d:
        return []
    v = d.get(key)
    return sorted(int(x) for x in v) if v else []


def score(truth: ScanTruth, result) -> Score:
    """Compare a :class:`ParseResult` (``records``, ``summary``) with the truth, item by item."""
    records = list(result.records)
    summary = dict(getattr(result, "summary", {}) or {})
    items: list[Item] = []
    problems: list[str] = []
    by_key: dict[tuple[str, str], list[dict]] = {}
    for rec in records:
        key = _record_key(rec)
        if key is not None:
            by_key.setdefault(key, []).append(rec)
    by_page: dict[tuple[str, int], list[dict]] = {}
    for rec in records:
        src = rec.get("source") or {}
        for p in src.get("pages") or []:
            by_page.setdefault((Path(src.get("file", "")).name, int(p)), []).append(rec)
    matched_ids = set()
    for ft in truth.forms:
        name = f"{ft.form} {ft.ident}"
        found = by_key.get(ft.key, [])
        rec = found[0] if found else None
        if len(found) > 1:
            problems.append(f"{name}: {len(found)} records")
        copies = set(ft.pages) | {d for d, o in truth.duplicate_of.items() if o in ft.pages}
        read_ident = ft.ident if rec is not None else None
        if len(found) > 1:
            read_ident = f"{ft.ident} ×{len(found)}"
        if rec is not None:
            src = rec.get("source") or {}
            on = {(Path(src.get("file", "")).name, int(p)) for p in src.get("pages") or []}
            if not on & {(Path(f).name, p) for f, p in copies}:
                problems.append(f"{name}: record says pages {sorted(on)}, truth {sorted(copies)}")
                read_ident = f"{ft.ident} on {sorted(on)}"
            if rec.get("form_version") not in (None, ft.version):
                problems.append(f"{name}: version {rec.get('form_version')} != {ft.version}")
            matched_ids.add(id(rec))
            flags = _flags(rec)
            identity_flagged = (None, "identity") in flags or any(k[1] == "identity" for k in flags)
        else:
            # the form was not identified: its items are flagged if its page went to review or failed
            others = [r for (f, p) in copies for r in by_page.get((Path(f).name, p), [])]
            failed = _failed_pages(result)
            identity_flagged = any(any(k[1] == "identity" for k in _flags(r)) for r in others) or any(
                (Path(f).name, p) in failed or (Path(f).name, None) in failed for f, p in copies)
            flags = {}
        items.append(Item("identity", name, None, "form", ft.ident, read_ident, rec is None and identity_flagged))
        everything_flagged = rec is None and identity_flagged

        def flagged(stage: str | None, item: str) -> tuple[bool, str]:
            if everything_flagged:
                return True, "form not identified"
            note = flags.get((stage, item))
            return note is not None, str((note or {}).get("why") or "")

        # header boxes
        for key, nos in _code_fields_for(truth, ft, None).items():
            read = _codes_of(rec.get("codes") if rec else None, key)
            t = set(ft.codes.get(key, []))
            for no in nos:
                items.append(Item("tick", name, None, f"{key} {CIRCLED[no]}", no in t, (no in read) if rec else None,
                                  *flagged(None, f"codes:{key}")))
        for skey, st in ft.stages.items():
            rst = ((rec.get("stages") or {}).get(skey) if rec else None) or {}
            for key, nos in _code_fields_for(truth, ft, skey).items():
                read = _codes_of(rst.get("codes"), key)
                t = set(st.codes.get(key, []))
                for no in nos:
                    items.append(Item("tick", name, skey, f"{key} {CIRCLED[no]}", no in t,
                                      (no in read) if rec else None, *flagged(skey, f"codes:{key}")))
            rsigners = rst.get("signers") or []
            for i, s in enumerate(st.signers):
                r = rsigners[i] if i < len(rsigners) else {}
                fl = flagged(skey, f"signature:{i}")
                items.append(Item("signature", name, skey, f"signer {i} {s.role}", s.present,
                                  r.get("present") if rec else None, *fl))
                if "按手印" in s.marks:
                    items.append(Item("thumbprint", name, skey, f"signer {i} {s.role}", s.thumbprint,
                                      r.get("thumbprint") if rec else None, *fl))
            if st.has_date_line:
                want = st.date.isoformat() if st.date else None
                items.append(Item("date", name, skey, "date", want, rst.get("date") if rec else None,
                                  *flagged(skey, "date")))
    unmatched = [r for r in records if id(r) not in matched_ids]
    foreign_names = {(Path(f).name, p) for f, p in truth.foreign_pages}
    for rec in unmatched:
        src = rec.get("source") or {}
        pages = {(Path(src.get("file", "")).name, int(p)) for p in src.get("pages") or []}
        flagged_identity = any(f.get("item") == "identity" for f in rec.get("needs_review") or [])
        if pages & foreign_names and not flagged_identity:
            items.append(Item("identity", f"{rec.get('form')} ?", None, "foreign page read as a form", None,
                              _record_key(rec), False))
        elif not flagged_identity:
            problems.append(f"record matches no returned form and is not flagged: {_record_key(rec)} {sorted(pages)}")
    accounted = {
        "pages_in": truth.pages_total,
        "summary": summary,
        "foreign_truth": len(truth.foreign_pages),
        "duplicates_truth": len(truth.duplicate_pages),
        "forms_truth": len(truth.forms),
    }
    if summary:
        total = sum(int(summary.get(k, 0) or 0) for k in ("recognised", "foreign", "duplicates", "failed"))
        if int(summary.get("pages", -1)) != truth.pages_total:
            problems.append(f"summary pages {summary.get('pages')} != {truth.pages_total}")
        if total != truth.pages_total:
            problems.append(f"pages not accounted for: recognised+foreign+duplicates+failed = {total}, "
                            f"pages in = {truth.pages_total}")
    return Score(items, accounted, unmatched, problems)


def _code_fields_for(truth: ScanTruth, ft: FormTruth, stage: str | None) -> dict[str, list[int]]:
    return _code_fields(ft.spec, stage) if ft.spec is not None else {}


__all__ = ["FormTruth", "Item", "PageScan", "Printed", "ScanTruth", "Score", "SignerTruth", "StageTruth",
           "households", "load_records", "print_forms", "score", "simulate",
           "simulate_text_layer", "write_image_pdf"]
