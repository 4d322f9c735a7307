"""An independent paper simulator: forms printed by the product, filled in by people, then
scanned by office copiers or photographed by phone, with the truth about every value.

Independence from the reader is the point: nothing here imports :mod:`fanpin_forms.readback`
(a test checks it). Where people write is decided from the printed PDF as a person sees it
(:func:`read_sheet`): pdfplumber characters and lines of the printed page, i.e. "☐"/"☑"
glyphs followed by a circled numeral (even when the numeral wrapped onto the next line),
labels ending in "（签字）：", "（盖章）：", "（按手印）" or "签名：", and the "年 月 日" of each
date line; the square of each box is found in the rendered pixels. The form's spec only
says which field a box belongs to (its printing order) and which stage a signer or date
line belongs to (the order of the stages on the page).

People (:func:`decide` and :func:`ink`) write with other fonts than the product prints
(Noto CJK Bold: Serif SC, Sans TC, Sans Mono SC; jittered, slanted, in blue or black ink):
ticks ✓ / ✗ / filled, light (thin, pale) and heavy (thick, over the edges) ones, and ticks
crossed out again (then the box counts as not ticked); signatures that start after the label
and run on, over the date or the table line when the line is short; official seals (red,
blue or purple rings 38–45 mm across with a star and the office's name, placed over the
label, the date and the table line, inked unevenly); thumbprints; dates in the blanks
before 年, 月, 日 (squeezed in where there is no room).

Then the paper is digitised (:func:`scan`), one of four kinds:

* ``colour``: RGB, 150–600 dpi, skew, blur, noise, paper tone, JPEG;
* ``grey``: the same in greyscale (a red seal is then just dark grey);
* ``bw``: 1-bit black and white, by a fixed threshold or by dithering;
* ``photo``: a phone photo, 8–12 MP JPEG: the sheet on a table (wood or desk, with the
  table's edge in the picture), perspective up to 15°, turned a little, uneven light and a
  shadow.

:func:`simulate` writes ``colour.pdf``, ``grey.pdf``, ``bw.pdf`` (image-only PDFs, pages
shuffled, about 1 foreign page in 100) and ``photos/*.jpg`` and returns a
:class:`PaperTruth`: per page the form, its identity, every box (ticked or not, by hand or
printed), every signer (signature / seal / thumbprint), every date and every mark drawn
(with its box on the page). :func:`score` compares a reader's public result (``records``
with their ``needs_review``) with it, value by value, by kind of scan.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import random
import re
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from fanpin_forms.app import App
from fanpin_forms.forms.model import CIRCLED, FormSpec, Ref, split_placeholders
from fanpin_forms.intake.records import Record
from tests.papersim_print import YEAR, Printed, forms_for, households, load_records, print_forms

KINDS = ("colour", "grey", "bw", "photo")
BOX_GLYPHS = ("☐", "☑")  # as printed: empty, ticked
TICK_STYLES = ("tick", "cross", "fill", "light", "heavy", "crossed_out")
TICK_WEIGHTS = (38, 14, 8, 14, 18, 8)

NOTO = "/usr/share/fonts/opentype/noto/"
HAND_FONTS = ((NOTO + "NotoSerifCJK-Bold.ttc", 2),  # Noto Serif CJK SC Bold
              (NOTO + "NotoSansCJK-Bold.ttc", 3),  # Noto Sans CJK TC Bold
              (NOTO + "NotoSansCJK-Bold.ttc", 7))  # Noto Sans Mono CJK SC Bold
SEAL_FONT = (NOTO + "NotoSerifCJK-Bold.ttc", 2)

BLUE_INKS = ((20, 45, 150), (35, 60, 175), (25, 35, 105))
BLACK_INKS = ((20, 20, 28), (45, 45, 50), (15, 15, 35))
LIGHT_INKS = ((120, 135, 190), (140, 140, 150))
SEAL_INKS = {"red": (210, 35, 45), "blue": (40, 70, 185), "purple": (125, 45, 150)}
SEAL_INK_WEIGHTS = (70, 15, 15)
THUMB_RED = (200, 40, 50)
NAMES = "李王张刘陈杨黄赵周吴徐孙胡朱郭何高林罗" + "建国秀英德明桂兰志强淑珍春生玉梅海涛丽华"
MM = 72 / 25.4
TOWN_OFFICES = ("荣家湾镇人民政府", "新墙镇人民政府", "筻口镇人民政府", "黄沙街镇人民政府", "月田镇人民政府")  # points per millimetre

Rect = tuple[float, float, float, float]  # x0, top, x1, bottom in points (pdfplumber's sense)


class PaperError(ValueError):
    """The printed page does not look like its form to a reader of paper (a simulator bug
    or a template change the simulator does not understand)."""


# --- what a person sees on the printed page ------------------------------------------------------


@dataclass
class PBox:
    stage: str | None
    field: str
    code: int
    glyph: Rect  # the ☐/☑ character box
    printed: bool  # printed ☑
    square: Rect | None = None  # the drawn square (found in the pixels)


@dataclass
class PSigner:
    stage: str
    index: int  # among the stage's signers
    role: str
    marks: tuple[str, ...]
    label: Rect  # the printed label, from the role to its final "）"/"："
    free: Rect  # the free line right of the label, up to the next printed text or the table's edge
    band: tuple[float, float]  # top and bottom of the table row (or of the room around the label)


@dataclass
class PDate:
    stage: str
    nian: Rect
    yue: Rect
    ri: Rect
    year_room: float  # x where printed text left of 年 ends (the year's blank starts)


@dataclass
class Sheet:
    form: str
    width: float
    height: float
    boxes: list[PBox]
    signers: list[PSigner]
    dates: list[PDate]


def _rows(chars: list[dict]) -> list[list[dict]]:
    rows: list[list[dict]] = []
    for c in sorted(chars, key=lambda c: (round(c["top"]), c["x0"])):
        if rows and abs(rows[-1][0]["top"] - c["top"]) < 3:
            rows[-1].append(c)
        else:
            rows.append([c])
    return [sorted(r, key=lambda c: c["x0"]) for r in rows]


def _rect(chars: list[dict]) -> Rect:
    return (min(c["x0"] for c in chars), min(c["top"] for c in chars),
            max(c["x1"] for c in chars), max(c["bottom"] for c in chars))


def printed_choices(form: FormSpec) -> list[tuple[str | None, str, int]]:
    """(stage, field, code) of every box the form prints, in printing order, from the form's
    text: each choice blank prints one box per code of its field's lists."""

    def refs(text: str) -> list[tuple[str, int]]:
        out = []
        for part in split_placeholders(text):
            if isinstance(part, Ref):
                for name in part.names:
                    f = form.field(Ref.root_of(name))
                    if f is not None and f.type in ("choice", "multi_choice") and f.code_lists:
                        out += [(f.key, c.no) for lid in f.code_lists for c in form.code_lists[lid].codes]
        return out

    seq: list[tuple[str | None, str, int]] = []
    for block in form.layout:
        if block.kind == "text":
            seq += [(None, k, no) for k, no in refs(block.value)]
        elif block.kind in ("stages", "signature"):
            for st in _block_stages(form, block):
                seq += [(st.key, k, no) for k, no in refs(st.text)]
    return seq


def _block_stages(form: FormSpec, block) -> list:
    keys = [s.key for s in form.stages] if block.value == "all" else (
        [block.value] if isinstance(block.value, str) else list(block.value))
    return [form.stage(k) for k in keys]


def stages_in_print_order(form: FormSpec) -> list:
    out = []
    for block in form.layout:
        if block.kind in ("stages", "signature"):
            out += _block_stages(form, block)
    return out


_LABEL_END = re.compile(r"(签字|签名|盖章|按手印)）?[：:]?")
_DATE = re.compile(r"年[\s\u3000]+月[\s\u3000]+日")


def read_sheet(page, form: FormSpec) -> Sheet:
    """What a person filling in ``form`` sees on a printed pdfplumber ``page``."""
    chars = [c for c in page.chars if c["text"].strip()]
    rows = _rows(chars)
    width, height = float(page.width), float(page.height)
    hlines = sorted({round(ln["top"], 1) for ln in page.lines if abs(ln["top"] - ln["bottom"]) < 1
                     and abs(ln["x1"] - ln["x0"]) > 100})
    vlines = sorted({round(ln["x0"], 1) for ln in page.lines if abs(ln["x1"] - ln["x0"]) < 1
                     and abs(ln["bottom"] - ln["top"]) > 10})

    # boxes: a box glyph and the numeral after it in reading order (it may have wrapped)
    flat = [c for r in rows for c in r]
    glyphs = [(c, CIRCLED.index(flat[i + 1]["text"])) for i, c in enumerate(flat)
              if c["text"] in BOX_GLYPHS and i + 1 < len(flat) and flat[i + 1]["text"] in CIRCLED[1:]]
    seq, boxes, j = printed_choices(form), [], 0
    for c, no in glyphs:
        k = j
        while k < len(seq) and seq[k][2] != no:
            k += 1
        if k == len(seq):
            continue  # a box the form does not print as a choice: not ours to tick
        stage, key, _ = seq[k]
        j = k + 1
        boxes.append(PBox(stage, key, no, _rect([c]), c["text"] == BOX_GLYPHS[1]))

    # signer labels and date lines, in reading order
    raw_labels, raw_dates = [], []
    for row in _rows([c for c in page.chars if c["text"] != " "]):
        text = "".join(c["text"] for c in row)
        for m in _LABEL_END.finditer(text):
            end = m.end() - 1
            if text[end] not in "）：:":
                continue  # "农户签字确认": words, not a place to sign
            start = m.start()
            while start > 0 and text[start - 1].strip() and row[start]["x0"] - row[start - 1]["x1"] < 6:
                start -= 1
            label = [c for c in row[start:end + 1] if c["text"].strip()]
            right = [c for c in row[end + 1:] if c["text"].strip()]
            raw_labels.append((label, right[0]["x0"] if right else None))
        for m in _DATE.finditer(text):
            nian, yue, ri = row[m.start()], row[m.start() + text[m.start():m.end()].index("月")], row[m.end() - 1]
            before = [c for c in row[:m.start()] if c["text"].strip()]
            raw_dates.append((nian, yue, ri, before[-1]["x1"] if before else nian["x0"] - 50))
    order = stages_in_print_order(form)
    want_signers = [(st, i, s) for st in order for i, s in enumerate(st.signers)]
    want_dates = [st for st in order if st.date]
    if len(raw_labels) != len(want_signers) or len(raw_dates) != len(want_dates):
        raise PaperError(f"{form.id}: {len(raw_labels)} signing labels and {len(raw_dates)} date lines on the "
                         f"page, the form has {len(want_signers)} signers and {len(want_dates)} dates")

    def band(y: float) -> tuple[float, float]:
        above = [h for h in hlines if h < y - 2]
        below = [h for h in hlines if h > y + 2]
        return (above[-1] if above else y - 40, below[0] if below else y + 40)

    signers = []
    for (label, next_x), (st, i, s) in zip(raw_labels, want_signers):
        r = _rect(label)
        edge = min([v for v in vlines if v > r[2] + 1] or [width - 50])
        right = min(next_x if next_x is not None else edge, edge)
        signers.append(PSigner(st.key, i, s.role, tuple(s.marks), r, (r[2], r[1] - 4, right, r[3] + 4),
                               band((r[1] + r[3]) / 2)))
    dates = [PDate(st.key, _rect([n]), _rect([y]), _rect([d]), max(room, n["x0"] - 50))
             for (n, y, d, room), st in zip(raw_dates, want_dates)]
    return Sheet(form.id, width, height, boxes, signers, dates)


def find_squares(sheet: Sheet, image: Image.Image, dpi: int) -> None:
    """The drawn square of every box, from the rendered page's dark pixels in its glyph."""
    grey = np.asarray(image.convert("L"))
    f = dpi / 72
    for b in sheet.boxes:
        x0, t, x1, bt = (int(b.glyph[0] * f), int(b.glyph[1] * f), int(math.ceil(b.glyph[2] * f)),
                         int(math.ceil(b.glyph[3] * f)))
        ys, xs = np.nonzero(grey[t:bt, x0:x1] < 128)
        if len(xs) == 0:
            b.square = b.glyph
            continue
        b.square = ((x0 + xs.min()) / f, (t + ys.min()) / f, (x0 + xs.max() + 1) / f, (t + ys.max() + 1) / f)


# --- truth ---------------------------------------------------------------------------------------


@dataclass
class Mark:
    """Something a person put on the page."""

    kind: str  # a tick style, "signature", "seal", "thumbprint", "date"
    stage: str | None
    bbox: Rect  # points on the page, before scanning
    color: tuple[int, int, int]
    what: str = ""  # box "field ⑥", signer index, seal ink...


@dataclass
class BoxTruth:
    stage: str | None
    field: str
    code: int
    printed: bool  # printed ☑
    hand: str | None  # the tick style drawn by hand, if any
    ticked: bool  # what a person reading the page decides


@dataclass
class SignerTruth:
    role: str
    marks: tuple[str, ...]
    signature: bool = False
    seal: bool = False
    thumbprint: bool = False

    @property
    def present(self) -> bool:
        return self.signature or self.seal or self.thumbprint


@dataclass
class StageTruth:
    key: str
    signers: list[SignerTruth]
    date: str | None  # ISO date written by hand, None if none
    has_date_line: bool
    stamped: bool = False  # an official seal somewhere in the stage (also over a signature)


@dataclass
class ScanInfo:
    kind: str  # colour / grey / bw / photo
    dpi: int  # of the scan; photos: of the page in the photo, roughly
    rotation: int = 0
    skew: float = 0.0
    jpeg: int | None = None
    binarise: str = ""  # bw: "threshold 150" or "dither"
    tilt: float = 0.0  # photo: perspective, degrees
    megapixels: float = 0.0
    defect: str = ""  # photo: "blur" when it is made too blurred to read


@dataclass
class PageTruth:
    form: str
    version: str
    ident: str  # "C:…", "S:…" or "R:n"
    filled: bool
    boxes: list[BoxTruth]
    stages: dict[str, StageTruth]
    marks: list[Mark] = field(default_factory=list)
    scan: ScanInfo | None = None
    file: str = ""
    page: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.form, self.ident)


@dataclass
class PaperTruth:
    pages: list[PageTruth]
    foreign: list[tuple[str, int]]  # (file, page) of pages that are no form
    files: list[str]
    seed: int = 0

    @property
    def pages_total(self) -> int:
        return len(self.pages) + len(self.foreign)

    def as_json(self) -> dict:
        return {"seed": self.seed, "files": self.files, "foreign": self.foreign,
                "pages": [asdict(p) for p in self.pages]}


def _random_date(rng: random.Random) -> dt.date:
    return dt.date(2022, 6, 1) + dt.timedelta(days=rng.randint(0, 395))


def _printed_codes(record: Record | None, key: str) -> set[int]:
    value = None if record is None else record.values.get(key)
    if value is None:
        return set()
    return set(value) if isinstance(value, (tuple, list, set, frozenset)) else {value}


def decide(rng: random.Random, form: FormSpec, record: Record | None, ident: str, sheet: Sheet) -> PageTruth:
    """What people put on this page (ticks, signatures, seals, dates), before drawing it."""
    boxes: list[BoxTruth] = []
    fields: dict[tuple[str | None, str], list[PBox]] = {}
    for b in sheet.boxes:
        fields.setdefault((b.stage, b.field), []).append(b)
    blank_none = record is None and rng.random() < 0.15
    for (stage, key), bs in fields.items():
        printed = _printed_codes(record, key)
        if record is None:
            k = 0 if blank_none else rng.choices((0, 1, 2, 3), weights=(25, 45, 20, 10))[0]
            hand = set(rng.sample([b.code for b in bs], min(k, len(bs))))
        else:
            hand = set()
            free = [b.code for b in bs if b.code not in printed]
            if free and rng.random() < 0.25:
                hand.add(rng.choice(free))
        for b in bs:
            style = rng.choices(TICK_STYLES, weights=TICK_WEIGHTS)[0] if b.code in hand else None
            if b.printed and style == "crossed_out":
                style = "tick"  # a printed ☑ cannot be crossed out by hand and stay honest truth
            ticked = b.printed or (style is not None and style != "crossed_out")
            boxes.append(BoxTruth(stage, key, b.code, b.printed, style, ticked))
        if record is None and rng.random() < 0.05:  # a stray box crossed out (changed their mind)
            cand = [x for x in boxes[-len(bs):] if x.hand is None]
            if cand:
                x = rng.choice(cand)
                x.hand, x.ticked = "crossed_out", False
    stages: dict[str, StageTruth] = {}
    for st in stages_in_print_order(form):
        done = rng.random() < 0.75
        signers = []
        for s in st.signers:
            t = SignerTruth(s.role, tuple(s.marks))
            if done and rng.random() < 0.93:
                if "盖章" in s.marks and "签字" not in s.marks:
                    t.seal = True
                elif "按手印" in s.marks:
                    t.signature = rng.random() < 0.85
                    t.thumbprint = (not t.signature) or rng.random() < 0.6
                else:
                    t.signature = True
            signers.append(t)
        date = None
        if st.date and rng.random() < (0.93 if done else 0.03):
            date = _random_date(rng).isoformat()
        stamped = any(s.seal for s in signers) or (
            any(s.signature for s in signers) and "乡镇" in st.title and rng.random() < 0.3)
        stages[st.key] = StageTruth(st.key, signers, date, bool(st.date), stamped)
    return PageTruth(form.id, form.version, ident, record is not None, boxes, stages)


# --- drawing --------------------------------------------------------------------------------------

_FONTS: dict[tuple[str, int, int], ImageFont.FreeTypeFont] = {}


def _font(spec: tuple[str, int], size: float) -> ImageFont.FreeTypeFont:
    key = (spec[0], spec[1], max(6, int(size)))
    if key not in _FONTS:
        _FONTS[key] = ImageFont.truetype(spec[0], key[2], index=spec[1])
    return _FONTS[key]


class Pen:
    """Draws on an RGB page image; positions in points. Keeps the pixel box of every mark."""

    def __init__(self, image: Image.Image, dpi: int, rng: random.Random):
        self.image, self.dpi, self.rng = image, dpi, rng
        self.f = dpi / 72
        self.draw = ImageDraw.Draw(image)
        self.marks: list[Mark] = []

    def w(self, at200: tuple[float, float]) -> int:
        return max(1, round(self.rng.uniform(*at200) * self.dpi / 200))

    def line(self, pts: list[tuple[float, float]], ink, width: int) -> Rect:
        px = [(x * self.f, y * self.f) for x, y in pts]
        self.draw.line(px, fill=ink, width=width, joint="curve")
        r = width / 2
        for x, y in (px[0], px[-1]):
            self.draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)
        pad = width / self.f
        return (min(p[0] for p in pts) - pad, min(p[1] for p in pts) - pad,
                max(p[0] for p in pts) + pad, max(p[1] for p in pts) + pad)

    def multiply(self, mask: np.ndarray, left: int, top: int, color, strength: float) -> Rect | None:
        """Blend ``color`` in where ``mask`` (0..1) is, like ink over print; the box actually inked."""
        h, w = mask.shape
        W, H = self.image.size
        x0, y0, x1, y1 = max(0, left), max(0, top), min(W, left + w), min(H, top + h)
        if x0 >= x1 or y0 >= y1:
            return None
        m = mask[y0 - top:y1 - top, x0 - left:x1 - left]
        region = np.asarray(self.image.crop((x0, y0, x1, y1)), dtype=np.float32)
        tint = np.array(color, dtype=np.float32) / 255.0
        out = region * (1.0 - (m[..., None] * strength) * (1.0 - tint))
        self.image.paste(Image.fromarray(out.clip(0, 255).astype(np.uint8)), (x0, y0))
        ys, xs = np.nonzero(m > 0.02)
        if len(xs) == 0:
            return None
        return ((x0 + xs.min()) / self.f, (y0 + ys.min()) / self.f, (x0 + xs.max() + 1) / self.f,
                (y0 + ys.max() + 1) / self.f)

    def text(self, box: Rect, text: str, ink, *, font: tuple[str, int] | None = None, align: str = "left",
             size: float | None = None) -> Rect:
        """``text`` as by hand: each character jittered in size, angle, slant and place."""
        rng = self.rng
        font = font or rng.choice(HAND_FONTS)
        height = box[3] - box[1]
        size_pt = size or min(height * rng.uniform(0.8, 1.0), (box[2] - box[0]) / max(1, len(text)) * 1.7)
        fnt = _font(font, size_pt * self.f)
        adv = [fnt.getlength(ch) / self.f * rng.uniform(0.95, 1.15) for ch in text]
        total = sum(adv)
        x = box[0] if align == "left" else (box[2] - total if align == "right" else (box[0] + box[2] - total) / 2)
        slant = rng.uniform(-0.25, 0.05)
        bbox = [math.inf, math.inf, -math.inf, -math.inf]
        for ch, a in zip(text, adv):
            n = int(fnt.size * 1.7) + 6
            tile = Image.new("L", (n, n), 0)
            ImageDraw.Draw(tile).text((3, 3), ch, font=fnt, fill=255)
            tile = tile.transform(tile.size, Image.Transform.AFFINE, (1, slant, -slant * n / 2, 0, 1, 0),
                                  resample=Image.Resampling.BILINEAR)
            tile = tile.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR)
            y = box[1] + (height - size_pt) / 2 + rng.uniform(-0.12, 0.12) * size_pt
            px, py = int((x + rng.uniform(-0.06, 0.06) * size_pt) * self.f), int((y - 0.15 * size_pt) * self.f)
            self.image.paste(Image.new("RGB", tile.size, ink), (px, py), tile)
            tb = tile.getbbox()
            if tb:
                bbox = [min(bbox[0], (px + tb[0]) / self.f), min(bbox[1], (py + tb[1]) / self.f),
                        max(bbox[2], (px + tb[2]) / self.f), max(bbox[3], (py + tb[3]) / self.f)]
            x += a
        return tuple(bbox) if bbox[0] < math.inf else (box[0], box[1], box[0], box[1])


def _union(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None or b is None:
        return a or b
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _smooth(points: list[tuple[float, float]], rounds: int = 3) -> list[tuple[float, float]]:
    for _ in range(rounds):
        out = [points[0]]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            out += [(0.75 * x0 + 0.25 * x1, 0.75 * y0 + 0.25 * y1), (0.25 * x0 + 0.75 * x1, 0.25 * y0 + 0.75 * y1)]
        out.append(points[-1])
        points = out
    return points


def draw_tick(pen: Pen, sq: Rect, style: str, ink) -> Rect:
    rng = pen.rng
    s = sq[2] - sq[0]
    j = lambda k=0.08: rng.uniform(-k, k) * s  # noqa: E731
    if style == "light":
        ink = rng.choice(LIGHT_INKS)
        a = (sq[0] + 0.25 * s + j(), sq[1] + 0.55 * s + j())
        b = (sq[0] + 0.45 * s + j(), sq[3] - 0.2 * s + j())
        c = (sq[2] - 0.1 * s + j(), sq[1] + 0.1 * s + j())
        return pen.line(_smooth([a, b, c], 2), ink, pen.w((1.0, 1.6)))  # a thin pen: ~0.15 mm
    if style == "cross":
        o = lambda: rng.uniform(-0.05, 0.2) * s  # noqa: E731
        r1 = pen.line([(sq[0] - o(), sq[1] - o()), (sq[2] + o(), sq[3] + o())], ink, pen.w((2, 3.5)))
        r2 = pen.line([(sq[2] + o(), sq[1] - o()), (sq[0] - o(), sq[3] + o())], ink, pen.w((2, 3.5)))
        return _union(r1, r2)
    if style == "fill":
        pts = []
        n = rng.randint(4, 6)
        for i in range(n + 1):
            y = sq[1] + 0.12 * s + 0.76 * s * i / n + j(0.03)
            pts.append((sq[0] + 0.12 * s, y) if i % 2 == 0 else (sq[2] - 0.12 * s, y))
        return pen.line(pts, ink, max(pen.w((2, 3)), round(0.2 * s * pen.f)))
    heavy = style == "heavy"
    a = (sq[0] + (-0.1 if heavy else 0.12) * s + j(), sq[1] + 0.45 * s + j())
    b = (sq[0] + 0.42 * s + j(), sq[3] + (0.15 if heavy else -0.1) * s + j())
    c = (sq[2] + rng.uniform(0.1, 0.6 if heavy else 0.3) * s, sq[1] - rng.uniform(0.1, 0.6 if heavy else 0.3) * s)
    rect = pen.line(_smooth([a, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + j()), b, c], 2), ink,
                    pen.w((5, 7) if heavy else (2, 3.5)))
    if style == "crossed_out":  # then scribbled over: a dense zig-zag through the tick and the box
        pts = []
        for i in range(rng.randint(5, 8)):
            pts.append((sq[0] - 0.2 * s + (1.4 * s) * (i % 2), sq[1] - 0.1 * s + 1.2 * s * i / 7 + j(0.05)))
        rect = _union(rect, pen.line(pts, ink, pen.w((2.5, 3.5))))
    return rect


def draw_signature(pen: Pen, box: Rect, ink) -> Rect:
    """A name in a hand font, sometimes followed or replaced by a cursive flourish."""
    rng = pen.rng
    name = "".join(rng.choice(NAMES) for _ in range(rng.choice((2, 3, 3))))
    if rng.random() < 0.75:
        rect = pen.text(box, name, ink, size=(box[3] - box[1]) * rng.uniform(0.75, 0.95))
    else:
        rect = None
    if rect is None or rng.random() < 0.35:
        x, pts = box[0], []
        while x < box[2]:
            pts.append((x, rng.uniform(box[1], box[3])))
            x += rng.uniform(0.1, 0.25) * (box[3] - box[1]) + 1.5
        if len(pts) < 3:
            pts += [(box[2], box[3]), (box[2], box[1])]
        rect = _union(rect, pen.line(_smooth(pts, 3), ink, pen.w((2, 3.5))))
    return rect


def _seal_mask(rng: random.Random, r: int, text: str, f: float) -> np.ndarray:
    """A round official seal: one or two rings, a star, the office's name around the top,
    sometimes "专用章" across the bottom; inked unevenly."""
    size = 2 * r + 4
    img = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(img)
    c = size / 2
    ring = max(2, int(r * rng.uniform(0.05, 0.08)))
    d.ellipse((c - r, c - r, c + r, c + r), outline=255, width=ring)
    if rng.random() < 0.25:
        r2 = r - ring - max(2, int(0.04 * r))
        d.ellipse((c - r2, c - r2, c + r2, c + r2), outline=255, width=max(1, ring // 3))
    star = r * rng.uniform(0.25, 0.33)
    pts = [(c + (star if i % 2 == 0 else star * 0.38) * math.cos(-math.pi / 2 + i * math.pi / 5),
            c + (star if i % 2 == 0 else star * 0.38) * math.sin(-math.pi / 2 + i * math.pi / 5)) for i in range(10)]
    d.polygon(pts, fill=255)
    fnt = _font(SEAL_FONT, r * 0.3)
    n = len(text)
    spread = math.radians(min(260, 28 * n))
    for i, ch in enumerate(text):
        a = -math.pi / 2 - spread / 2 + spread * (i + 0.5) / n
        tile = Image.new("L", (int(fnt.size * 1.5), int(fnt.size * 1.5)), 0)
        ImageDraw.Draw(tile).text((fnt.size * 0.25, fnt.size * 0.05), ch, font=fnt, fill=255)
        tile = tile.rotate(-math.degrees(a) - 90, resample=Image.Resampling.BILINEAR)
        rr = r - ring - fnt.size * 0.75
        img.paste(255, (int(c + rr * math.cos(a) - tile.width / 2), int(c + rr * math.sin(a) - tile.height / 2)), tile)
    if rng.random() < 0.5:
        small = _font(SEAL_FONT, r * 0.2)
        d.text((c, c + r * 0.55), "专用章", font=small, fill=255, anchor="mm")
    mask = np.asarray(img, dtype=np.float32) / 255.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    wave = 0.7 + 0.3 * np.sin(xx / size * rng.uniform(3, 7) + rng.uniform(0, 6)) * np.cos(
        yy / size * rng.uniform(2, 6))
    side = rng.uniform(0.55, 1.0)  # pressed harder on one side
    tilt = 1.0 - (1.0 - side) * (xx / size if rng.random() < 0.5 else yy / size)
    return mask * wave * tilt


def draw_seal(pen: Pen, near: Rect, text: str, ink) -> Rect | None:
    """A seal 38–45 mm across over ``near`` (a label): over the label, the date and the line."""
    rng = pen.rng
    r = rng.uniform(19, 22.5) * MM
    cx = near[0] + (near[2] - near[0]) * rng.uniform(0.3, 1.15)
    cy = (near[1] + near[3]) / 2 + rng.uniform(-18, 18)
    rp = int(r * pen.f)
    mask = _seal_mask(rng, rp, text, pen.f)
    img = Image.fromarray((mask * 255).astype(np.uint8)).rotate(rng.uniform(-30, 30), resample=Image.Resampling.BILINEAR)
    mask = np.asarray(img, dtype=np.float32) / 255.0
    size = mask.shape[0]
    return pen.multiply(mask, int(cx * pen.f - size / 2), int(cy * pen.f - size / 2), ink, rng.uniform(0.7, 0.95))


def draw_thumbprint(pen: Pen, cx: float, cy: float) -> Rect | None:
    rng = pen.rng
    a, b = rng.uniform(15, 19), rng.uniform(20, 25)
    ap, bp = int(a * pen.f), int(b * pen.f)
    yy, xx = np.mgrid[0:2 * bp + 2, 0:2 * ap + 2].astype(np.float32)
    x, y = (xx - ap) / ap, (yy - bp) / bp
    r = np.sqrt(x * x + (y + 0.25) ** 2 * 0.8)
    warp = 0.6 * np.sin(x * rng.uniform(2, 4) + rng.uniform(0, 6)) + 0.4 * np.sin(y * rng.uniform(3, 5))
    ridges = 0.5 + 0.5 * np.sin(r * rng.uniform(20, 30) + warp + 1.5 * x * y)
    d = np.sqrt(x * x + y * y)
    mask = (ridges > 0.45).astype(np.float32) * (d <= 1.0) * np.clip((1.0 - d) * 5, 0, 1) * rng.uniform(0.7, 0.95)
    img = Image.fromarray((mask * 255).astype(np.uint8)).rotate(rng.uniform(-30, 30), resample=Image.Resampling.BILINEAR)
    mask = np.asarray(img, dtype=np.float32) / 255.0
    return pen.multiply(mask, int((cx - a) * pen.f), int((cy - b) * pen.f), THUMB_RED, 0.9)


def draw_date(pen: Pen, d: PDate, date: dt.date, ink) -> Rect:
    rng = pen.rng
    font = rng.choice(HAND_FONTS)
    h = d.nian[3] - d.nian[1]
    top = d.nian[1] - rng.uniform(0.5, 3)
    right = d.nian[0] - rng.uniform(0.3, 2)
    room = right - d.year_room - 1
    year = str(date.year)
    if room >= 26:
        ybox = (right - min(room, rng.uniform(30, 40)), top, right, top + h + 1)
        rect = pen.text(ybox, year, ink, font=font, align="right")
    else:  # no blank for the year: squeezed in smaller, higher, over what is there
        w = max(room, 0) + rng.uniform(14, 22)
        ybox = (right - w, top - rng.uniform(2, 5), right, top - rng.uniform(2, 5) + min(h, w / 4 * 1.4))
        rect = pen.text(ybox, year, ink, font=font, align="right", size=min(h, w / 4 * 1.5))
    month = str(date.month) if rng.random() < 0.7 else f"{date.month:02d}"
    day = str(date.day) if rng.random() < 0.7 else f"{date.day:02d}"
    rect = _union(rect, pen.text((d.nian[2] + 1, top, d.yue[0] - 1, top + h + 1), month, ink, font=font,
                                 align="center"))
    return _union(rect, pen.text((d.yue[2] + 1, top, d.ri[0] - 1, top + h + 1), day, ink, font=font, align="center"))


def ink(image: Image.Image, dpi: int, sheet: Sheet, truth: PageTruth, rng: random.Random,
        office: str = "岳阳县乡村振兴局") -> list[Mark]:
    """Draw what ``truth`` says people put on the page; returns the marks (kept in ``truth``)."""
    pen = Pen(image, dpi, rng)
    person_ink = rng.choice(BLUE_INKS + BLACK_INKS)
    marks: list[Mark] = []
    by_box = {(b.stage, b.field, b.code): b for b in sheet.boxes}
    for bt in truth.boxes:
        if bt.hand is None:
            continue
        b = by_box[(bt.stage, bt.field, bt.code)]
        rect = draw_tick(pen, b.square or b.glyph, bt.hand, person_ink)
        marks.append(Mark(bt.hand, bt.stage, rect, person_ink, f"{bt.field} {CIRCLED[bt.code]}"))
    dates = {d.stage: d for d in sheet.dates}
    for ps in sheet.signers:
        st = truth.stages[ps.stage]
        s = st.signers[ps.index]
        hand_ink = rng.choice(BLUE_INKS + BLACK_INKS)
        name_rect = None
        if s.signature:
            h = rng.uniform(14, 24)
            x0 = ps.label[2] + rng.uniform(1, 6)
            width = rng.uniform(42, 110)
            if ps.free[2] - x0 < 35 and rng.random() < 0.5:
                width = rng.uniform(40, 70)  # a crowded line: the signature runs into the date anyway
            cy = (ps.label[1] + ps.label[3]) / 2 + rng.uniform(-3, 3)
            name_rect = draw_signature(pen, (x0, cy - h / 2, x0 + width, cy + h / 2), hand_ink)
            marks.append(Mark("signature", ps.stage, name_rect, hand_ink, str(ps.index)))
        if s.thumbprint:
            if name_rect is not None and rng.random() < 0.6:
                cx, cy = rng.uniform(name_rect[0], name_rect[2]), (name_rect[1] + name_rect[3]) / 2
            else:
                cx, cy = ps.label[2] + rng.uniform(20, 60), (ps.label[1] + ps.label[3]) / 2 + rng.uniform(-5, 5)
            rect = draw_thumbprint(pen, cx, cy)
            if rect:
                marks.append(Mark("thumbprint", ps.stage, rect, THUMB_RED, str(ps.index)))
    for ps in sheet.signers:  # dates before seals: the seal goes over the date
        st = truth.stages[ps.stage]
        if ps.index == len(st.signers) - 1 and st.date and ps.stage in dates:
            date_ink = rng.choice(BLUE_INKS + BLACK_INKS)
            rect = draw_date(pen, dates[ps.stage], dt.date.fromisoformat(st.date), date_ink)
            marks.append(Mark("date", ps.stage, rect, date_ink, st.date))
    for ps in sheet.signers:
        st = truth.stages[ps.stage]
        s = st.signers[ps.index]
        seal_here = s.seal or (st.stamped and not any(x.seal for x in st.signers) and ps.index == 0)
        if seal_here:
            name = rng.choices(list(SEAL_INKS), weights=SEAL_INK_WEIGHTS)[0]
            text = office if s.seal else rng.choice(TOWN_OFFICES)
            rect = draw_seal(pen, ps.label, text, SEAL_INKS[name])
            if rect:
                marks.append(Mark("seal", ps.stage, rect, SEAL_INKS[name], name))
    truth.marks = marks
    return marks


# --- scanning and photographing -------------------------------------------------------------------


@dataclass
class Scanned:
    """One page as the scanner or the phone delivers it."""

    data: bytes
    width: int
    height: int
    dpi: float
    colorspace: str  # DeviceRGB / DeviceGray
    bpc: int
    filter: str  # DCTDecode / FlateDecode
    info: ScanInfo


def render(pdf: Path, page: int, dpi: int) -> Image.Image:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return doc[page - 1].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()


def pick_dpi(rng: random.Random, kind: str) -> int:
    if kind == "photo":
        return 200
    return rng.choices((150, 200, 240, 300, 400, 600), weights=(22, 22, 12, 30, 8, 6))[0]


def _jpeg(img: Image.Image, q: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q)
    return buf.getvalue()


def _degrade(img: Image.Image, dpi: int, rng: random.Random, info: ScanInfo) -> Image.Image:
    """What the copier does to any page: paper tone, a little skew, blur and noise."""
    if rng.random() < 0.04:
        info.rotation = 180
        img = img.rotate(180)
    info.skew = round(rng.uniform(-1.8, 1.8), 2)
    img = img.rotate(info.skew, resample=Image.Resampling.BICUBIC, fillcolor=(250, 250, 248), expand=False)
    arr = np.asarray(img, dtype=np.float32)
    arr = arr * rng.uniform(0.92, 1.0) + rng.uniform(-4, 4)
    sigma = rng.uniform(1.0, 6.0)
    arr += np.random.default_rng(rng.randrange(2 ** 32)).normal(0, sigma, arr.shape[:2])[..., None]
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    blur = rng.uniform(0.0, 0.9) * dpi / 300
    return img.filter(ImageFilter.GaussianBlur(blur)) if blur > 0.2 else img


def scan(image: Image.Image, dpi: int, kind: str, rng: random.Random) -> Scanned:
    """Digitise an inked page as ``kind`` (colour / grey / bw / photo)."""
    info = ScanInfo(kind, dpi)
    if kind == "photo":
        return photograph(image, dpi, rng, info)
    img = _degrade(image, dpi, rng, info)
    if kind == "colour":
        info.jpeg = rng.randint(55, 92)
        return Scanned(_jpeg(img, info.jpeg), img.width, img.height, dpi, "DeviceRGB", 8, "DCTDecode", info)
    grey = img.convert("L")
    if kind == "grey":
        info.jpeg = rng.randint(55, 92)
        return Scanned(_jpeg(grey, info.jpeg), img.width, img.height, dpi, "DeviceGray", 8, "DCTDecode", info)
    if rng.random() < 0.3:
        info.binarise = "dither"
        bw = grey.convert("1")  # Floyd–Steinberg
    else:
        t = rng.randint(120, 175)
        info.binarise = f"threshold {t}"
        bw = grey.point(lambda v: 255 if v > t else 0).convert("1", dither=Image.Dither.NONE)
    return Scanned(zlib.compress(bw.tobytes(), 6), bw.width, bw.height, dpi, "DeviceGray", 1, "FlateDecode", info)


def _background(rng: random.Random, w: int, h: int) -> np.ndarray:
    """A table seen from above: wood or a desk top, its edge and the floor beyond."""
    g = np.random.default_rng(rng.randrange(2 ** 32))
    base = np.array(rng.choice(((120, 82, 50), (150, 110, 70), (90, 90, 95), (200, 195, 185), (60, 45, 35))),
                    dtype=np.float32)
    yy, xx = np.mgrid[0:h:8, 0:w:8].astype(np.float32)
    grain = 0.85 + 0.15 * np.sin(xx / rng.uniform(15, 40) + 3 * np.sin(yy / rng.uniform(60, 200)))
    small = base[None, None, :] * grain[..., None]
    bg = np.asarray(Image.fromarray(small.clip(0, 255).astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR),
                    dtype=np.float32)
    bg += g.normal(0, 4, (h, w))[..., None]
    # the table's edge: beyond it the floor, darker
    side = rng.choice(("top", "bottom", "left", "right"))
    at = rng.uniform(0.03, 0.12)
    if side in ("top", "bottom"):
        n = int(h * at)
        sl = np.s_[:n, :] if side == "top" else np.s_[h - n:, :]
    else:
        n = int(w * at)
        sl = np.s_[:, :n] if side == "left" else np.s_[:, w - n:]
    bg[sl] = bg[sl] * 0.35 + 10
    return bg


def photograph(page: Image.Image, dpi: int, rng: random.Random, info: ScanInfo) -> Scanned:
    """A phone photo of the page lying on a table: 8–12 MP JPEG, perspective up to 15°,
    turned a little, uneven light and a shadow."""
    import cv2

    W, H = rng.choice(((2448, 3264), (2736, 3648), (3024, 4032), (3000, 4000)))
    if rng.random() < 0.15:
        W, H = H, W
    info.megapixels = round(W * H / 1e6, 1)
    pw, ph = page.size
    fill = rng.uniform(0.70, 0.88)
    scale = min(W * fill / pw, H * fill / ph)
    sw, sh = pw * scale, ph * scale
    cx, cy = W / 2 + rng.uniform(-0.06, 0.06) * W, H / 2 + rng.uniform(-0.05, 0.05) * H
    turn = math.radians(rng.uniform(-8, 8))
    tilt = rng.uniform(0, 15)
    info.tilt = round(tilt, 1)
    k = math.tan(math.radians(tilt)) * 0.55  # the far edge looks shorter
    corners = [(-sw / 2, -sh / 2), (sw / 2, -sh / 2), (sw / 2, sh / 2), (-sw / 2, sh / 2)]
    far = rng.choice(("top", "left", "right", "bottom"))
    pts = []
    for x, y in corners:
        if far == "top" and y < 0 or far == "bottom" and y > 0:
            x *= 1 - k
        if far == "left" and x < 0 or far == "right" and x > 0:
            y *= 1 - k
        x += rng.uniform(-0.01, 0.01) * sw
        y += rng.uniform(-0.01, 0.01) * sh
        pts.append((cx + x * math.cos(turn) - y * math.sin(turn), cy + x * math.sin(turn) + y * math.cos(turn)))
    src = np.float32([(0, 0), (pw, 0), (pw, ph), (0, ph)])
    m = cv2.getPerspectiveTransform(src, np.float32(pts))
    bg = _background(rng, W, H).clip(0, 255).astype(np.uint8)
    warped = cv2.warpPerspective(np.asarray(page), m, (W, H), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT)
    inside = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), m, (W, H), flags=cv2.INTER_NEAREST)
    frame = np.where(inside[..., None] > 0, warped, bg).astype(np.float32)
    # light: a gradient across the frame, a soft shadow (the phone, a hand) and a warm cast
    yy, xx = np.mgrid[0:H:16, 0:W:16].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    grad = (xx / W * math.cos(ang) + yy / H * math.sin(ang))
    grad = 1.0 - rng.uniform(0.15, 0.45) * (grad - grad.min()) / max(1e-6, np.ptp(grad))
    shade = Image.new("L", (W // 16 + 1, H // 16 + 1), 0)
    sx, sy = rng.uniform(0, W / 16), rng.uniform(0, H / 16)
    rad = rng.uniform(0.15, 0.35) * W / 16
    ImageDraw.Draw(shade).ellipse((sx - rad, sy - 1.6 * rad, sx + rad, sy + 1.6 * rad), fill=255)
    shade = np.asarray(shade.filter(ImageFilter.GaussianBlur(rad / 2)), dtype=np.float32)[:grad.shape[0], :grad.shape[1]]
    light = grad * (1.0 - rng.uniform(0.2, 0.45) * shade / 255.0)
    light = cv2.resize(light, (W, H), interpolation=cv2.INTER_LINEAR)
    cast = np.array((rng.uniform(1.0, 1.06), 1.0, rng.uniform(0.88, 0.98)), dtype=np.float32)
    frame = frame * light[..., None] * cast
    frame += np.random.default_rng(rng.randrange(2 ** 32)).normal(0, rng.uniform(2, 5), (H, W))[..., None]
    img = Image.fromarray(frame.clip(0, 255).astype(np.uint8))
    if rng.random() < 0.05:
        info.defect = "blur"
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(7, 10)))
    else:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    info.jpeg = rng.randint(78, 92)
    return Scanned(_jpeg(img, info.jpeg), W, H, dpi * scale, "DeviceRGB", 8, "DCTDecode", info)


def foreign_page(rng: random.Random, dpi: int) -> Image.Image:
    """A page that is no form: a short letter, no code, no table."""
    w, h = int(8.27 * dpi), int(11.69 * dpi)
    img = Image.new("RGB", (w, h), (252, 252, 250))
    d = ImageDraw.Draw(img)
    fnt = _font((NOTO + "NotoSerifCJK-Bold.ttc", 2), 14 * dpi / 72)
    text = "关于本村防返贫动态监测工作情况的说明：经村两委研究，现将本月排查情况报告如下。"
    y = 100 * dpi / 72
    for i in range(rng.randint(8, 16)):
        d.text((72 * dpi / 72, y), text[rng.randint(0, 10):], font=fnt, fill=(30, 30, 30))
        y += 24 * dpi / 72
    return img


def write_image_pdf(path: Path, pages: Sequence[Scanned]) -> Path:
    """An image-only PDF: each page one image (JPEG or 1-bit Flate), page size = pixels / dpi."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    add(b"<< /Type /Catalog /Pages 2 0 R >>")
    add(b"")
    kids = []
    for s in pages:
        pw, ph = s.width * 72.0 / s.dpi, s.height * 72.0 / s.dpi
        img = add(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /%s /BitsPerComponent %d "
                  b"/Filter /%s /Length %d >>\nstream\n" % (s.width, s.height, s.colorspace.encode(), s.bpc,
                                                            s.filter.encode(), len(s.data)) + s.data + b"\nendstream")
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


# --- the simulator -----------------------------------------------------------------------------------


def fill_in(app: App, item: Printed, pdf_page, seed: Any, dpi: int) -> tuple[Image.Image, PageTruth, Sheet]:
    """One printed page, read as a person reads it, decided and inked at ``dpi``."""
    rng = random.Random(f"papersim-{seed}")
    sheet = read_sheet(pdf_page, item.form)
    image = render(item.pdf, item.page, dpi)
    find_squares(sheet, image, dpi)
    truth = decide(rng, item.form, item.record, item.ident, sheet)
    ink(image, dpi, sheet, truth, rng, office=app.county.approving_body)
    return image, truth, sheet


def simulate(app: App, out_dir: Path, *, forms: Sequence[tuple[str, Sequence[Record] | int]], seed: int,
             kinds: Sequence[str] = KINDS, foreign_every: int = 100) -> PaperTruth:
    """Print ``forms``, fill them in, and scan each page as one of ``kinds`` (in turn, shuffled
    by the seed); write ``out_dir``/{colour,grey,bw}.pdf and ``out_dir``/photos/*.jpg."""
    import pdfplumber

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"papersim-{seed}")
    by_kind: dict[str, list[tuple[Scanned, PageTruth | None]]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="papersim-print-") as tmp:
        printed = print_forms(app, forms, Path(tmp))
        order = [kinds[i % len(kinds)] for i in range(len(printed))]
        rng.shuffle(order)
        docs: dict[Path, Any] = {}
        try:
            for i, (item, kind) in enumerate(zip(printed, order)):
                if item.pdf not in docs:
                    docs[item.pdf] = pdfplumber.open(item.pdf)
                prng = random.Random(f"papersim-{seed}-{i}-scan")
                dpi = pick_dpi(prng, kind)
                image, truth, _ = fill_in(app, item, docs[item.pdf].pages[item.page - 1], f"{seed}-{i}", dpi)
                scanned = scan(image, dpi, kind, prng)
                truth.scan = scanned.info
                by_kind[kind].append((scanned, truth))
        finally:
            for d in docs.values():
                d.close()
    files, pages, foreign = [], [], []
    for kind in kinds:
        entries = by_kind[kind]
        if kind != "photo" and foreign_every:
            for k in range(len(entries) // foreign_every + (1 if len(entries) >= foreign_every // 2 else 0)):
                frng = random.Random(f"papersim-{seed}-{kind}-foreign-{k}")
                dpi = pick_dpi(frng, kind)
                entries.append((scan(foreign_page(frng, dpi), dpi, kind, frng), None))
        rng.shuffle(entries)
        if not entries:
            continue
        if kind == "photo":
            folder = out_dir / "photos"
            folder.mkdir(exist_ok=True)
            for n, (s, truth) in enumerate(entries, 1):
                path = folder / f"IMG_{seed % 10000:04d}{n:04d}.jpg"
                path.write_bytes(s.data)
                truth.file, truth.page = str(path), 1
                pages.append(truth)
            files.append(str(folder))
        else:
            path = out_dir / f"{kind}.pdf"
            write_image_pdf(path, [s for s, _ in entries])
            for n, (_, truth) in enumerate(entries, 1):
                if truth is None:
                    foreign.append((str(path), n))
                else:
                    truth.file, truth.page = str(path), n
                    pages.append(truth)
            files.append(str(path))
    return PaperTruth(pages, foreign, files, seed)


# --- scoring a reader's public result -------------------------------------------------------------------


@dataclass
class Item:
    """One value the reader had to decide."""

    kind: str  # identity / tick / signature / thumbprint / date
    scan: str  # colour / grey / bw / photo
    form: str  # "annex2 C:…"
    stage: str | None
    what: str
    truth: Any
    read: Any
    flagged: bool
    note: str = ""

    @property
    def right(self) -> bool:
        return self.truth == self.read

    @property
    def silent(self) -> bool:
        return not self.right and not self.flagged

    def __str__(self) -> str:
        state = ("ok" if not self.flagged else "ok,flag") if self.right else ("FLAGGED" if self.flagged else "SILENT")
        return (f"{state:7} {self.scan:6} {self.kind:10} {self.form} {self.stage or '-'} {self.what}: "
                f"truth={self.truth!r} read={self.read!r}" + (f" ({self.note})" if self.note else ""))


@dataclass
class Score:
    items: list[Item]
    problems: list[str]

    def of(self, kind: str | None = None, scan: str | None = None) -> list[Item]:
        return [i for i in self.items if (kind is None or i.kind == kind) and (scan is None or i.scan == scan)]

    @staticmethod
    def rate(items: list[Item], what: str) -> float | None:
        if not items:
            return None
        return sum(getattr(i, what) for i in items) / len(items)


def _ident(rec: dict) -> tuple[str, str] | None:
    for k, p in (("case_id", "C"), ("serial", "S"), ("row", "R")):
        if rec.get(k) is not None:
            return (rec.get("form"), f"{p}:{rec[k]}")
    return None


def _pages_of(rec: dict) -> set[tuple[str, int]]:
    src = rec.get("source") or {}
    return {(Path(str(src.get("file", ""))).name, int(p)) for p in src.get("pages") or []}


def _failed(result) -> set[str]:
    """Names of files (and 'file 第n页') that failed, from the result's pages and failures."""
    out: set[str] = set()
    for page in getattr(result, "pages", None) or []:
        if isinstance(page, dict) and page.get("status") == "failed":
            out.add(f"{Path(str(page.get('file', ''))).name}#{page.get('page')}")
    for x in getattr(result, "failures", None) or []:
        loc = getattr(x, "location", None)
        src = (x.get("source") if isinstance(x, dict) else getattr(x, "source", None)) or (
            getattr(loc, "file", None) if loc is not None else None) or ""
        page = x.get("page") if isinstance(x, dict) else getattr(x, "page", None)
        if page is None and loc is not None:
            page = getattr(loc, "page", None)
        m = re.match(r"^(.*) 第(\d+)页$", str(src))
        if m:
            src, page = m.group(1), int(m.group(2))
        out.add(f"{Path(str(src)).name}#{page}")
    return out


def score(truth: PaperTruth, result) -> Score:
    """Compare the reader's public result (``records``: form, case_id/serial/row, source,
    stages → codes / signers / date, needs_review) with the truth, value by value. A value is
    right, flagged (in needs_review, or its page not identified but failed or flagged) or a
    silent error."""
    records = list(result.records)
    by_key: dict[tuple[str, str], list[dict]] = {}
    by_page: dict[tuple[str, int], list[dict]] = {}
    for rec in records:
        key = _ident(rec)
        if key is not None:
            by_key.setdefault(key, []).append(rec)
        for p in _pages_of(rec):
            by_page.setdefault(p, []).append(rec)
    failed = _failed(result)
    items: list[Item] = []
    problems: list[str] = []
    used = set()
    for pt in truth.pages:
        name, kind = f"{pt.form} {pt.ident}", pt.scan.kind if pt.scan else "?"
        here = (Path(pt.file).name, pt.page)
        found = [r for r in by_key.get(pt.key, []) if here in _pages_of(r)]
        if len(by_key.get(pt.key, [])) > len(found):
            problems.append(f"{name}: a record cites other pages")
        rec = found[0] if found else None
        if len(found) > 1:
            problems.append(f"{name}: {len(found)} records")
        flags = {(f.get("stage"), f.get("item")): f for f in (rec or {}).get("needs_review") or []}
        if rec is None:
            others = by_page.get(here, [])
            lost_flagged = (f"{here[0]}#{here[1]}" in failed or f"{here[0]}#None" in failed
                            or any(any(f.get("item") == "identity" for f in r.get("needs_review") or [])
                                   for r in others))
        else:
            used.add(id(rec))
            lost_flagged = False
        ident_read = pt.ident if rec is not None else (str(_ident(others[0])) if others else None)
        items.append(Item("identity", kind, name, None, "form", pt.ident, ident_read,
                          (rec is None and lost_flagged) or any(k[1] == "identity" for k in flags)))

        def flagged(stage: str | None, what: str) -> tuple[bool, str]:
            if rec is None:
                return lost_flagged, "form not identified"
            note = flags.get((stage, what))
            return note is not None, str((note or {}).get("why") or "")

        for b in pt.boxes:
            where = (rec or {}).get("codes") if b.stage is None else (((rec or {}).get("stages") or {}).get(b.stage)
                                                                       or {}).get("codes")
            read = None if rec is None else b.code in {int(x) for x in ((where or {}).get(b.field) or [])}
            items.append(Item("tick", kind, name, b.stage, f"{b.field} {CIRCLED[b.code]} {b.hand or ''}".strip(),
                              b.ticked, read, *flagged(b.stage, f"codes:{b.field}")))
        for key, st in pt.stages.items():
            rst = (((rec or {}).get("stages") or {}).get(key)) or {}
            rs = rst.get("signers") or []
            for i, s in enumerate(st.signers):
                r = rs[i] if i < len(rs) else {}
                fl = flagged(key, f"signature:{i}")
                items.append(Item("signature", kind, name, key, f"signer {i} {re.sub(r'{[^}]*}', '', s.role)}" + (" seal" if s.seal else ""),
                                  s.present, None if rec is None else r.get("present"), *fl))
                if "按手印" in s.marks:
                    items.append(Item("thumbprint", kind, name, key, f"signer {i}", s.thumbprint,
                                      None if rec is None else r.get("thumbprint"), *fl))
            if st.has_date_line:
                items.append(Item("date", kind, name, key, "date", st.date, None if rec is None else rst.get("date"),
                                  *flagged(key, "date")))
    foreign = {(Path(f).name, p) for f, p in truth.foreign}
    for rec in records:
        if id(rec) in used:
            continue
        flagged_identity = any(f.get("item") == "identity" for f in rec.get("needs_review") or [])
        pages = _pages_of(rec)
        if pages & foreign:
            kind = next((k for k in KINDS if any(f.startswith(k) for f, _ in pages)), "?")
            items.append(Item("identity", kind, f"{rec.get('form')} ?", None, "foreign page read as a form", None,
                              _ident(rec), flagged_identity))
        elif not flagged_identity:
            problems.append(f"record matches no page and is not flagged: {_ident(rec)} {sorted(pages)}")
    return Score(items, problems)


__all__ = ["KINDS", "Item", "Mark", "PageTruth", "PaperError", "PaperTruth", "Scanned", "Score", "Sheet",
           "decide", "fill_in", "forms_for", "households", "ink", "load_records", "print_forms", "read_sheet",
           "scan", "score", "simulate", "write_image_pdf"]
