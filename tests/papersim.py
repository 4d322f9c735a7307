"""An independent paper simulator: forms printed by the product, filled in the way people
fill them, then scanned by office copiers or photographed with a phone.

Independence from the reader is the point: this module never imports
``fanpin_forms.readback`` (nor ``tests.scansim``, which does). Where people write is
decided from the printed PDF as a person sees it (pdfplumber characters of the printed
page): a signature goes after a label ending in "（签字）", "签名" or "签字（按手印）", a
seal over "（盖章）" and the date next to it, digits before "年", "月" and "日", a tick in
every "☐"/"☑" glyph that is followed by a circled numeral (also when the numeral wrapped
onto the next line). Which field a box belongs to comes from the form spec's text (the
printed sentence), in printing order.

What people do, seeded: handwriting in other CJK faces than the printed one (Noto Serif
CJK Bold, Noto Sans CJK Bold, Noto Serif CJK Regular; per-glyph size, angle and shear),
signatures that overflow their line and run into the date, round seals (red, blue or
purple, 38–45 mm, ring + star + text) pressed over the label, the date and the table
lines, light / normal / heavy / crossed (✗) / filled ticks and ticks that were struck
out again (truth: not ticked), red thumbprints.

Scan kinds: ``colour``, ``grey``, ``bw`` (1-bit, threshold or dither), 150–600 dpi,
skew, noise, JPEG; ``photo``: a phone photo (8–12 MP JPEG, perspective up to 15°, a
wooden table around the sheet, uneven light and a shadow). Truth is recorded per page
(:class:`PageTruth`): identity, every box, every signer, dates, stamps with their boxes.
:func:`score` compares the reader's public output (records + needs_review) with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import random
import re
import tempfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from fanpin_forms.app import App
from fanpin_forms.forms.model import CIRCLED, FormSpec, Ref, split_placeholders
from fanpin_forms.intake.load import load_and_check
from fanpin_forms.privacy.idcard import check_char
from fanpin_forms.render.context import record_context, record_ident
from fanpin_forms.render.fill import compile_for
from fanpin_forms.render.pdfout import merged_pdf

KINDS = ("colour", "grey", "bw", "photo")
YEAR = 2022
BLANK_DAY = dt.date(2023, 3, 14)
NOTO = "/usr/share/fonts/opentype/noto/"
# handwriting faces: not the Noto Sans CJK Regular the printed forms and the older simulator use
HAND_FONTS = (NOTO + "NotoSerifCJK-Bold.ttc", NOTO + "NotoSansCJK-Bold.ttc", NOTO + "NotoSerifCJK-Regular.ttc")
SC_INDEX = 2  # Noto CJK collections: JP, KR, SC, TC, HK
SEAL_INKS = {"red": (205, 35, 45), "blue": (40, 70, 175), "purple": (120, 45, 140)}
PEN_INKS = ((20, 45, 150), (30, 30, 35), (10, 25, 95), (55, 55, 60))
THUMB_RED = (190, 30, 40)
BOX_GLYPHS = ("☐", "☑")
SIGN_LABEL = re.compile(r"签字（按手印）|（签字）：?|签名：?|（盖章）：?")
DPI_CHOICES = ((150, 30), (200, 25), (300, 30), (400, 8), (600, 7))


# --- truth -----------------------------------------------------------------------------------


@dataclass
class BoxTruth:
    stage: str | None
    field: str
    code: int
    ticked: bool  # what the paper says: printed ☑ or ticked by hand (and not struck out)
    printed: bool
    style: str  # "", "light", "tick", "heavy", "cross", "fill", "struck"
    rect: tuple[float, float, float, float]  # the glyph's box, points


@dataclass
class SignerTruth:
    stage: str
    index: int
    role: str
    marks: tuple[str, ...]
    signature: bool = False
    seal: bool = False
    thumbprint: bool = False
    label: tuple[float, float, float, float] = (0, 0, 0, 0)  # the printed label, points
    ink: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)  # what → box drawn, points

    @property
    def present(self) -> bool:
        return self.signature or self.seal or self.thumbprint


@dataclass
class StampTruth:
    stage: str
    index: int
    colour: str
    diameter_mm: float
    rect: tuple[float, float, float, float]  # points on the printed page


@dataclass
class PageTruth:
    kind: str
    file: str
    page: int  # 1-based page in ``file`` (1 for a photo's JPEG)
    form: str
    version: str
    ident: str  # "C:<case id>" or "S:<serial>"
    filled: bool
    dpi: int  # scan dpi; for a photo the dpi of the sheet as drawn before the camera
    scan: dict[str, Any] = field(default_factory=dict)
    boxes: list[BoxTruth] = field(default_factory=list)
    signers: list[SignerTruth] = field(default_factory=list)
    dates: dict[str, str | None] = field(default_factory=dict)  # stage with a date line → ISO date or None
    stamps: list[StampTruth] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


# --- households and printing -------------------------------------------------------------------

_SURNAMES = "谢邓冯曾彭蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玲"
_PLACES = {"荣家湾镇": ["杨林村", "荣湾社区"], "新墙镇": ["清水村"], "筻口镇": ["潼溪村"], "月田镇": ["花苗村"]}


def households(n: int, seed: int) -> list[dict]:
    rng, seen, rows = random.Random(f"papersim-households-{seed}"), set(), []
    for i in range(1, n + 1):
        while True:
            first17 = (f"430621{rng.randint(1950, 2002):04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
                       f"{rng.randint(100, 999):03d}")
            if first17 not in seen:
                seen.add(first17)
                break
        town = rng.choice(list(_PLACES))
        rows.append({"户编号": f"PS-{seed}-{i:04d}", "户主姓名": rng.choice(_SURNAMES) + "".join(
            rng.sample(_GIVEN, rng.choice((1, 2)))), "身份证号码": first17 + check_char(first17),
            "家庭人口": rng.randint(1, 6), "乡镇（街道）": town, "村（社区）": rng.choice(_PLACES[town]),
            "村民小组": rng.choice(["一组", "三组", "五组"]), "三保障问题": rng.choice(["", "②", "①④", "3"]),
            "风险类型": rng.choice(["⑥", "⑧", "⑦⑪", "12", "⑨"]), "其他原因": ""})
    return rows


def load_records(app: App, form_id: str, rows: list[dict]) -> list:
    with tempfile.TemporaryDirectory(prefix="papersim-rows-") as tmp:
        path = Path(tmp) / f"{form_id}.json"
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        result = load_and_check(app, app.form(form_id), path)
    if result.errors:
        raise ValueError(f"invented rows rejected: {[str(p) for p in result.errors[:3]]}")
    return result.records


_PRINT_CACHE: dict[str, bytes] = {}


@dataclass
class Printed:
    form: FormSpec
    record: Any
    ident: str
    pdf: Path
    page: int


def print_forms(app: App, forms: Sequence[tuple[str, Any]], workdir: Path, year: int = YEAR) -> list[Printed]:
    """``(form_id, records)`` or ``(form_id, n_blank)`` → printed pages (``merged_pdf``, as
    ``fanpin fill --merge`` / ``fanpin blank`` print them)."""
    out: list[Printed] = []
    serial = 0
    for form_id, what in forms:
        form = app.form(form_id)
        items = []
        if isinstance(what, int):
            for _ in range(what):
                serial += 1
                items.append((None, f"S:{form_id}-{BLANK_DAY:%Y%m%d}-{100 + serial}"))
        else:
            items = [(r, record_ident(r, i + 1)) for i, r in enumerate(what)]
        if not items:
            continue
        contexts = [record_context(form, r, app.county, year, ident, types=app.field_types) for r, ident in items]
        key = hashlib.sha256(json.dumps([form_id, form.version, contexts], ensure_ascii=False, sort_keys=True,
                                        default=str).encode()).hexdigest()
        pdf = Path(workdir) / f"print-{form_id}-{key[:12]}.pdf"
        if key not in _PRINT_CACHE:
            merged_pdf(compile_for(form, None), contexts, pdf, label=form_id)
            _PRINT_CACHE[key] = pdf.read_bytes()
        pdf.write_bytes(_PRINT_CACHE[key])
        out.extend(Printed(form, r, ident, pdf, i + 1) for i, (r, ident) in enumerate(items))
    return out


# --- reading the printed page as a person does ---------------------------------------------------------


@dataclass
class SeenPage:
    width: float
    height: float
    boxes: list[tuple[tuple, int, bool]]  # (glyph rect, numeral, printed ☑)
    labels: list[tuple[str, tuple, float]]  # (label text, label rect, free line until x)
    dates: list[tuple[tuple, tuple, tuple]]  # rects of 年, 月, 日
    lines: list[tuple]  # table rules, points (x0, top, x1, bottom)


def _rows(chars: list[dict]) -> list[list[dict]]:
    rows: list[list[dict]] = []
    for c in sorted((c for c in chars if c["text"].strip()), key=lambda c: (round(c["top"]), c["x0"])):
        if rows and abs(rows[-1][0]["top"] - c["top"]) < 3:
            rows[-1].append(c)
        else:
            rows.append([c])
    return [sorted(r, key=lambda c: c["x0"]) for r in rows]


def _r(c: dict) -> tuple:
    return (float(c["x0"]), float(c["top"]), float(c["x1"]), float(c["bottom"]))


def see_page(page) -> SeenPage:
    """What a person filling the form sees on a pdfplumber page."""
    rows = _rows(page.chars)
    flat = [c for r in rows for c in r]
    boxes = [(_r(c), CIRCLED.index(flat[i + 1]["text"]), c["text"] == "☑") for i, c in enumerate(flat)
             if c["text"] in BOX_GLYPHS and i + 1 < len(flat) and flat[i + 1]["text"] in CIRCLED]
    labels, dates = [], []
    right_margin = max((c["x1"] for c in flat), default=page.width - 56)
    for row in rows:
        text = "".join(c["text"] for c in row)
        for i in range(len(row) - 2):
            if text[i:i + 3] == "年月日":
                dates.append((_r(row[i]), _r(row[i + 1]), _r(row[i + 2])))
        for m in SIGN_LABEL.finditer(text):
            end = row[m.end() - 1]
            start = row[max(0, m.start() - 12)]
            later = [c["x0"] for c in row[m.end():]]
            free = min(later) if later else right_margin
            labels.append((m.group(0), (float(start["x0"]), float(end["top"]), float(end["x1"]), float(end["bottom"])),
                           float(free)))
    lines = [(float(l["x0"]), float(l["top"]), float(l["x1"]), float(l["bottom"])) for l in page.lines]
    return SeenPage(float(page.width), float(page.height), boxes, labels, dates, lines)


def _choice_fields(form: FormSpec, text: str) -> list[tuple[str, list[int]]]:
    out = []
    for part in split_placeholders(text or ""):
        if isinstance(part, Ref):
            for name in part.names:
                f = form.field(Ref.root_of(name))
                if f is not None and f.type in ("choice", "multi_choice") and f.code_lists:
                    out.append((f.key, [c.no for lid in f.code_lists for c in form.code_lists[lid].codes]))
    return out


def _stage_order(form: FormSpec) -> list:
    keys: list[str] = []
    for block in form.layout:
        if block.kind in ("stages", "signature"):
            keys += [s.key for s in form.stages] if block.value == "all" else (
                [block.value] if isinstance(block.value, str) else list(block.value))
    return [form.stage(k) for k in keys]


def box_fields(form: FormSpec) -> list[tuple[str | None, str, int]]:
    """(stage, field, code) of each box the printed sentences contain, in reading order."""
    seq: list[tuple[str | None, str, int]] = []
    for block in form.layout:
        if block.kind == "text":
            seq += [(None, k, no) for k, nos in _choice_fields(form, block.value) for no in nos]
        elif block.kind in ("stages", "signature"):
            keys = [s.key for s in form.stages] if block.value == "all" else (
                [block.value] if isinstance(block.value, str) else list(block.value))
            for st in (form.stage(k) for k in keys):
                seq += [(st.key, k, no) for k, nos in _choice_fields(form, st.text) for no in nos]
    return seq


def _pair_boxes(form: FormSpec, seen: SeenPage) -> list[tuple[tuple, bool, tuple[str | None, str, int]]]:
    seq, out, k = box_fields(form), [], 0
    for rect, no, printed in seen.boxes:
        j = k
        while j < len(seq) and seq[j][2] != no:
            j += 1
        if j < len(seq):
            out.append((rect, printed, seq[j]))
            k = j + 1
    return out


# --- pens --------------------------------------------------------------------------------------

_FONTS: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def _font(path: str, px: float) -> ImageFont.FreeTypeFont:
    key = (path, max(6, int(px)))
    if key not in _FONTS:
        _FONTS[key] = ImageFont.truetype(path, key[1], index=SC_INDEX if path.endswith(".ttc") else 0)
    return _FONTS[key]


class Canvas:
    """An RGB page as a float array; positions in points, ink multiplied over print."""

    def __init__(self, image: Image.Image, dpi: int, rng: random.Random):
        self.a = np.asarray(image.convert("RGB"), dtype=np.float32)
        self.dpi, self.f, self.rng = dpi, dpi / 72.0, rng

    def ink(self, mask: np.ndarray, left: int, top: int, colour, strength: float = 0.95) -> None:
        h, w = mask.shape
        H, W = self.a.shape[:2]
        x0, y0, x1, y1 = max(0, left), max(0, top), min(W, left + w), min(H, top + h)
        if x0 >= x1 or y0 >= y1:
            return
        m = np.clip(mask[y0 - top:y1 - top, x0 - left:x1 - left], 0, 1)[..., None] * strength
        tint = np.array(colour, dtype=np.float32) / 255.0
        self.a[y0:y1, x0:x1] *= 1.0 - m * (1.0 - tint)

    def strokes(self, polylines: list[list[tuple[float, float]]], colour, width_pt: float,
                strength: float = 0.95) -> tuple[float, float, float, float]:
        """Draw pen strokes (points); returns their bounding box in points."""
        xs = [x for p in polylines for x, _ in p]
        ys = [y for p in polylines for _, y in p]
        pad = width_pt * 2 + 2
        left, top = int((min(xs) - pad) * self.f), int((min(ys) - pad) * self.f)
        w, h = int((max(xs) - min(xs) + 2 * pad) * self.f) + 2, int((max(ys) - min(ys) + 2 * pad) * self.f) + 2
        tile = Image.new("L", (w, h), 0)
        d = ImageDraw.Draw(tile)
        wp = max(1, round(width_pt * self.f))
        for p in polylines:
            pts = [((x * self.f) - left, (y * self.f) - top) for x, y in p]
            d.line(pts, fill=255, width=wp, joint="curve")
        self.ink(np.asarray(tile, dtype=np.float32) / 255.0, left, top, colour, strength)
        return (min(xs) - width_pt / 2, min(ys) - width_pt / 2, max(xs) + width_pt / 2, max(ys) + width_pt / 2)

    def text(self, x: float, y: float, s: str, size_pt: float, colour, font: str, *, slant: float = 0.0,
             spacing: float = 1.05) -> tuple[float, float, float, float]:
        """Hand-written ``s`` starting at (x, y top), points; each glyph jittered. Returns its box."""
        rng = self.rng
        x1 = x
        top, bottom = y + size_pt, y
        for ch in s:
            size = size_pt * rng.uniform(0.85, 1.15)
            f = _font(font, size * self.f)
            tile = Image.new("L", (int(f.size * 1.7) + 6, int(f.size * 1.7) + 6), 0)
            ImageDraw.Draw(tile).text((3, 3), ch, font=f, fill=255)
            tile = tile.transform(tile.size, Image.Transform.AFFINE, (1, slant, -slant * tile.size[1] / 2, 0, 1, 0),
                                  resample=Image.Resampling.BILINEAR)
            tile = tile.rotate(rng.uniform(-9, 9), resample=Image.Resampling.BILINEAR)
            bbox = tile.getbbox()
            if bbox is None:
                continue
            dy = rng.uniform(-0.12, 0.12) * size
            self.ink(np.asarray(tile, dtype=np.float32) / 255.0, int(x1 * self.f), int((y + dy) * self.f), colour)
            gx0, gy0 = x1 + bbox[0] / self.f, y + dy + bbox[1] / self.f
            gx1, gy1 = x1 + bbox[2] / self.f, y + dy + bbox[3] / self.f
            top, bottom = min(top, gy0), max(bottom, gy1)
            x1 = max(x1, gx1 - 0.05 * size) + rng.uniform(0.02, 0.12) * size * spacing
        return (x, top, max(x1, x + 1), bottom)


def _smooth(points, rounds=2):
    for _ in range(rounds):
        out = [points[0]]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            out += [(0.75 * x0 + 0.25 * x1, 0.75 * y0 + 0.25 * y1), (0.25 * x0 + 0.75 * x1, 0.25 * y0 + 0.75 * y1)]
        out.append(points[-1])
        points = out
    return points


# --- marks -----------------------------------------------------------------------------------------


def draw_tick(cv: Canvas, rect: tuple, style: str, ink) -> tuple:
    """A mark in the box glyph ``rect`` (points); its square is the glyph's lower part."""
    rng = cv.rng
    x0, t, x1, b = rect
    s = (x1 - x0) * 0.8
    sx0, sb = x0 + 0.1 * (x1 - x0), b - 0.02 * (b - t)
    st = sb - s
    j = lambda k=0.1: rng.uniform(-k, k) * s  # noqa: E731
    width = {"light": rng.uniform(0.35, 0.55), "heavy": rng.uniform(1.3, 2.0)}.get(style, rng.uniform(0.6, 1.0))
    strength = rng.uniform(0.35, 0.55) if style == "light" else 0.95
    if style in ("tick", "light", "heavy", "struck"):
        a = (sx0 + 0.1 * s + j(), st + 0.5 * s + j())
        m = (sx0 + 0.4 * s + j(), sb - 0.05 * s + j())
        e = (sx0 + s * rng.uniform(1.0, 1.5), st - rng.uniform(0.1, 0.8) * s)
        box = cv.strokes([_smooth([a, m, e])], ink, width, strength)
        if style == "struck":  # cancelled: a dense zig-zag over it
            pts = [(sx0 - 0.2 * s + (1.4 * s) * (i % 2), st - 0.1 * s + 1.2 * s * i / 7 + j(0.05)) for i in range(8)]
            box = _union(box, cv.strokes([pts], ink, width * 1.2))
        return box
    if style == "cross":
        o = lambda: rng.uniform(-0.1, 0.3) * s  # noqa: E731
        return cv.strokes([[(sx0 - o(), st - o()), (sx0 + s + o(), sb + o())],
                           [(sx0 + s + o(), st - o()), (sx0 - o(), sb + o())]], ink, width, strength)
    pts = [((sx0 + 0.15 * s) if i % 2 == 0 else (sx0 + 0.85 * s), st + 0.15 * s + 0.7 * s * i / 6) for i in range(7)]
    return cv.strokes([pts], ink, max(width, 0.25 * s), strength)


def _union(a: tuple, b: tuple) -> tuple:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def draw_signature(cv: Canvas, label: tuple, free_until: float, ink) -> tuple:
    """A name after the label; people do not stop at the next printed word."""
    rng = cv.rng
    name = rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, rng.choice((1, 2))))
    size = rng.uniform(13, 22)
    x = label[2] + rng.uniform(1, 9)
    y = label[1] - size * rng.uniform(0.25, 0.6)
    box = cv.text(x, y, name, size, ink, rng.choice(HAND_FONTS), slant=rng.uniform(-0.35, 0.1),
                  spacing=rng.uniform(0.8, 2.2))
    if rng.random() < 0.45:  # a flourish under or through the name, often past the free line
        end = max(box[2], free_until) + rng.uniform(-10, 25)
        yy = box[3] - rng.uniform(0, 6)
        box = _union(box, cv.strokes([_smooth([(box[0] + rng.uniform(0, 8), yy), ((box[0] + end) / 2, yy + 3),
                                               (end, yy - rng.uniform(2, 8))])], ink, rng.uniform(0.6, 1.1)))
    return box


def _seal_mask(rng: random.Random, r_px: int, text: str) -> np.ndarray:
    size = 2 * r_px + 6
    img = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(img)
    c = size / 2
    ring = max(2, int(r_px * rng.uniform(0.045, 0.08)))
    d.ellipse((c - r_px, c - r_px, c + r_px, c + r_px), outline=255, width=ring)
    pts = []
    for i in range(10):
        rr = r_px * 0.28 * (1 if i % 2 == 0 else 0.38)
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((c + rr * math.cos(a), c + rr * math.sin(a)))
    d.polygon(pts, fill=255)
    font = _font(HAND_FONTS[0], r_px * 0.3)
    n = len(text)
    spread = math.radians(min(260, 26 * n))
    for i, ch in enumerate(text):
        a = -math.pi / 2 - spread / 2 + spread * (i + 0.5) / n
        tile = Image.new("L", (int(font.size * 1.5), int(font.size * 1.5)), 0)
        ImageDraw.Draw(tile).text((font.size * 0.25, font.size * 0.05), ch, font=font, fill=255)
        tile = tile.rotate(-math.degrees(a) - 90, resample=Image.Resampling.BILINEAR)
        rr = r_px - ring - font.size * 0.75
        img.paste(255, (int(c + rr * math.cos(a) - tile.width / 2), int(c + rr * math.sin(a) - tile.height / 2)), tile)
    bottom = _font(HAND_FONTS[1], r_px * 0.2)
    d.text((c, c + r_px * 0.55), "专用章" if rng.random() < 0.5 else "", font=bottom, fill=255, anchor="mm")
    mask = np.asarray(img.rotate(rng.uniform(-30, 30), resample=Image.Resampling.BILINEAR), dtype=np.float32) / 255
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    uneven = 0.55 + 0.45 * np.clip(np.sin(xx / size * rng.uniform(2, 6) + rng.uniform(0, 6))
                                   * np.cos(yy / size * rng.uniform(2, 5)) + rng.uniform(0.3, 0.9), 0, 1)
    return mask * uneven


def draw_seal(cv: Canvas, label: tuple, date: tuple | None, colour: str, office: str) -> tuple[tuple, float]:
    """A seal pressed over the office's label and its date ("骑年盖月"). Returns (box, mm)."""
    rng = cv.rng
    mm = rng.uniform(38, 45)
    r = mm / 25.4 * 72 / 2
    if date is not None and rng.random() < 0.7:
        cx = (date[0][2] + date[1][0]) / 2 + rng.uniform(-20, 15)
        cy = (label[3] + date[0][1]) / 2 + rng.uniform(-10, 10)
    else:
        cx = label[2] + rng.uniform(-r, r * 0.6)
        cy = (label[1] + label[3]) / 2 + rng.uniform(-12, 12)
    rp = int(r * cv.f)
    mask = _seal_mask(rng, rp, office)
    half = mask.shape[0] / 2
    cv.ink(mask, int(cx * cv.f - half), int(cy * cv.f - half), SEAL_INKS[colour], rng.uniform(0.7, 0.95))
    return (cx - r, cy - r, cx + r, cy + r), mm


def draw_thumbprint(cv: Canvas, near: tuple) -> tuple:
    rng = cv.rng
    a, b = rng.uniform(13, 17), rng.uniform(17, 23)
    cx, cy = near[0] + (near[2] - near[0]) * rng.uniform(0.2, 1.1), (near[1] + near[3]) / 2 + rng.uniform(-5, 5)
    ap, bp = int(a * cv.f), int(b * cv.f)
    yy, xx = np.mgrid[0:2 * bp + 2, 0:2 * ap + 2].astype(np.float32)
    x, y = (xx - ap) / ap, (yy - bp) / bp
    rr = np.sqrt(x * x + (y + 0.2) ** 2)
    ridges = (0.5 + 0.5 * np.sin(rr * rng.uniform(20, 28) + 0.5 * np.sin(3 * x) + x * y)) > 0.5
    mask = ridges * (x * x + y * y <= 1) * np.clip((1 - np.sqrt(x * x + y * y)) * 5, 0, 1) * rng.uniform(0.6, 0.9)
    cv.ink(mask.astype(np.float32), int((cx - a) * cv.f), int((cy - b) * cv.f), THUMB_RED)
    return (cx - a, cy - b, cx + a, cy + b)


def draw_date(cv: Canvas, chars: tuple, date: dt.date, ink) -> tuple:
    rng = cv.rng
    nian, yue, ri = chars
    font = rng.choice(HAND_FONTS)
    h = nian[3] - nian[1]
    size = h * rng.uniform(0.95, 1.3)
    slant = rng.uniform(-0.3, 0.05)
    y = nian[1] - rng.uniform(0.5, 0.35 * size)
    year = str(date.year)
    width = size * 0.62 * 4 * rng.uniform(0.9, 1.15)
    box = cv.text(nian[0] - width - rng.uniform(0.5, 3), y, year, size, ink, font, slant=slant, spacing=0.3)
    month = str(date.month) if rng.random() < 0.75 else f"{date.month:02d}"
    day = str(date.day) if rng.random() < 0.75 else f"{date.day:02d}"
    for s, left, right in ((month, nian[2], yue[0]), (day, yue[2], ri[0])):
        w = size * 0.6 * len(s)
        x = left + max(0.5, (right - left - w) / 2) + rng.uniform(-1.5, 1.5)
        box = _union(box, cv.text(x, y, s, size, ink, font, slant=slant, spacing=0.3))
    return box


# --- one form page -------------------------------------------------------------------------------


def _printed_codes(record, key: str) -> set[int]:
    v = None if record is None else record.values.get(key)
    if v is None:
        return set()
    return set(v) if isinstance(v, (tuple, list, set, frozenset)) else {v}


def _signers_on_page(form: FormSpec, seen: SeenPage) -> list[tuple[Any, int, Any, tuple, float]]:
    """(stage, index, signer, label rect, free line until x): the labels in reading order are the
    signers of the stages in printing order."""
    signers = [(st, i, s) for st in _stage_order(form) for i, s in enumerate(st.signers)]
    if len(signers) != len(seen.labels):
        raise RuntimeError(f"{form.id}: {len(seen.labels)} signing labels printed, {len(signers)} signers expected")
    return [(st, i, s, lab[1], lab[2]) for (st, i, s), lab in zip(signers, seen.labels)]


def _date_of_stage(form: FormSpec, seen: SeenPage) -> dict[str, tuple]:
    """Each stage's date line: the first 年 月 日 at or below its last signer's label."""
    out, used = {}, set()
    by_stage: dict[str, tuple] = {}
    for st, _, _, label, _ in _signers_on_page(form, seen):
        by_stage[st.key] = label
    for st in _stage_order(form):
        if not st.date or st.key not in by_stage:
            continue
        label = by_stage[st.key]
        for k, d in enumerate(seen.dates):
            if k not in used and d[0][1] >= label[1] - 3:
                out[st.key] = d
                used.add(k)
                break
    return out


def fill_page(image: Image.Image, dpi: int, form: FormSpec, record, seen: SeenPage, rng: random.Random,
              office: str) -> tuple[list[BoxTruth], list[SignerTruth], dict[str, str | None], list[StampTruth]]:
    """Decide what people did on this page and draw it; the truth of it."""
    cv = Canvas(image, dpi, rng)
    page_ink = rng.choice(PEN_INKS)
    page_style = rng.choices(("tick", "light", "heavy", "cross", "fill"), weights=(45, 15, 15, 15, 10))[0]
    boxes: list[BoxTruth] = []
    by_field: dict[tuple, list] = {}
    for rect, printed, (stage, key, no) in _pair_boxes(form, seen):
        by_field.setdefault((stage, key), []).append((rect, printed, no))
    for (stage, key), items in by_field.items():
        want = _printed_codes(record, key)
        if record is None:
            k = rng.choices((0, 1, 2, 3), weights=(25, 45, 20, 10))[0]
            hand = set(rng.sample([n for _, _, n in items], min(k, len(items))))
        else:
            hand = {n for _, _, n in items if n not in want and rng.random() < 0.04}
        for rect, printed, no in items:
            style = ""
            ticked = printed
            if no in hand and not printed:
                style = page_style if rng.random() < 0.8 else rng.choice(("tick", "light", "heavy", "cross"))
                if rng.random() < 0.03:
                    style = "struck"
                draw_tick(cv, rect, style, page_ink)
                ticked = style != "struck"
            boxes.append(BoxTruth(stage, key, no, ticked, printed, style, rect))
    signers: list[SignerTruth] = []
    dates_at = _date_of_stage(form, seen)
    stamps: list[StampTruth] = []
    done_stages = {st.key: rng.random() < 0.75 for st in form.stages}
    later_seals = []
    for st, i, s, label, free in _signers_on_page(form, seen):
        t = SignerTruth(st.key, i, s.role, tuple(s.marks), label=label)
        if done_stages[st.key] and rng.random() < 0.93:
            if "盖章" in s.marks and "签字" not in s.marks:
                t.seal = True
                later_seals.append((t, label, dates_at.get(st.key)))
            else:
                t.signature = rng.random() < (0.85 if "按手印" in s.marks else 1.0)
                if t.signature:
                    t.ink["signature"] = draw_signature(cv, label, free, rng.choice(PEN_INKS))
                if "按手印" in s.marks and (not t.signature or rng.random() < 0.6):
                    t.thumbprint = True
                    t.ink["thumbprint"] = draw_thumbprint(cv, t.ink.get("signature", (label[2], label[1], label[2] + 30,
                                                                                      label[3])))
        signers.append(t)
    dates: dict[str, str | None] = {}
    for st in form.stages:
        if not st.date:
            continue
        chars = dates_at.get(st.key)
        date = None
        if chars is not None and rng.random() < (0.92 if done_stages[st.key] else 0.04):
            date = dt.date(2022, 6, 1) + dt.timedelta(days=rng.randint(0, 420))
            draw_date(cv, chars, date, rng.choice(PEN_INKS))
        dates[st.key] = date.isoformat() if date else None
    for t, label, chars in later_seals:  # stamped last, over the writing
        colour = rng.choices(list(SEAL_INKS), weights=(70, 15, 15))[0]
        rect, mm = draw_seal(cv, label, chars, colour, office)
        t.ink["seal"] = rect
        stamps.append(StampTruth(t.stage, t.index, colour, round(mm, 1), rect))
    image.paste(Image.fromarray(cv.a.clip(0, 255).astype(np.uint8)))
    return boxes, signers, dates, stamps


# --- scanners and cameras ----------------------------------------------------------------------------


def rasterise(pdf: Path, page: int, dpi: int) -> Image.Image:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return doc[page - 1].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()


def pick_dpi(rng: random.Random) -> int:
    return rng.choices([d for d, _ in DPI_CHOICES], weights=[w for _, w in DPI_CHOICES])[0]


def copier(image: Image.Image, dpi: int, kind: str, rng: random.Random) -> tuple[bytes, str, dict]:
    """An office copier's scan: (image stream, PDF filter "DCT"/"Flate1", parameters)."""
    skew = rng.uniform(-2.5, 2.5)
    p = {"skew": round(skew, 2), "blur": round(rng.uniform(0, 0.8), 2), "noise": round(rng.uniform(0, 7), 1)}
    img = image.rotate(skew, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(250, 250, 248))
    if p["blur"] > 0.2:
        img = img.filter(ImageFilter.GaussianBlur(p["blur"] * dpi / 200))
    a = np.asarray(img, dtype=np.float32)
    nrng = np.random.default_rng(rng.randrange(2 ** 32))
    a = a * rng.uniform(0.93, 1.0) + nrng.normal(0, p["noise"], a.shape[:2])[..., None]
    img = Image.fromarray(a.clip(0, 255).astype(np.uint8))
    if kind == "bw":
        grey = img.convert("L")
        p["bw"] = rng.choice(("threshold", "dither"))
        if p["bw"] == "threshold":
            level = rng.randint(120, 180)
            p["level"] = level
            bw = grey.point(lambda v: 255 if v >= level else 0).convert("1", dither=Image.Dither.NONE)
        else:
            bw = grey.convert("1", dither=Image.Dither.FLOYDSTEINBERG)
        return _pack_1bit(bw), "Flate1", p | {"size": bw.size}
    if kind == "grey":
        img = img.convert("L")
    q = rng.randint(55, 92)
    p["jpeg"] = q
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q)
    return buf.getvalue(), "DCT", p | {"size": img.size, "mode": img.mode}


def _pack_1bit(bw: Image.Image) -> bytes:
    return zlib.compress(bw.tobytes(), 6)


def _table(rng: random.Random, w: int, h: int) -> np.ndarray:
    """A wooden table top."""
    base = np.array(rng.choice(((120, 84, 52), (150, 110, 70), (90, 70, 55), (170, 160, 150))), dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grain = 0.85 + 0.15 * np.sin(yy / rng.uniform(9, 25) + 4 * np.sin(xx / rng.uniform(200, 600)))
    return base[None, None, :] * grain[..., None]


def camera(image: Image.Image, rng: random.Random) -> tuple[bytes, dict]:
    """A phone photo of the sheet lying on a table."""
    import cv2

    W, H = rng.choice(((3000, 4000), (2448, 3264), (2736, 3648)))  # 12, 8, 10 MP portrait
    page = np.asarray(image.convert("RGB"), dtype=np.float32)
    ph, pw = page.shape[:2]
    scale = rng.uniform(0.70, 0.88) * min(W / pw, H / ph)
    cw, ch = pw * scale, ph * scale
    cx, cy = W / 2 + rng.uniform(-0.05, 0.05) * W, H / 2 + rng.uniform(-0.04, 0.04) * H
    tilt = rng.uniform(0, 15)  # degrees the phone leans away from straight down
    k = math.tan(math.radians(tilt)) * 0.9  # the far edge looks shorter
    far_top = rng.random() < 0.8
    quad = []
    for x, y in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        shrink = 1 - k * (0.5 if (y < 0) == far_top else -0.1)
        quad.append((x * cw / 2 * shrink, y * ch / 2 * (1 - k * 0.15)))
    rot = math.radians(rng.uniform(-7, 7))
    dst = np.float32([(cx + x * math.cos(rot) - y * math.sin(rot) + rng.uniform(-8, 8),
                       cy + x * math.sin(rot) + y * math.cos(rot) + rng.uniform(-8, 8)) for x, y in quad])
    src = np.float32([(0, 0), (pw, 0), (pw, ph), (0, ph)])
    M = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(page, M, (W, H), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((ph, pw), np.float32), M, (W, H), flags=cv2.INTER_LINEAR)[..., None]
    out = warped * mask + _table(rng, W, H) * (1 - mask)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    light = rng.uniform(0.7, 0.85) + rng.uniform(0.15, 0.3) * (
        np.cos((xx / W - rng.random()) * 2) * np.cos((yy / H - rng.random()) * 1.5))
    sx, sy = rng.uniform(0, W), rng.uniform(0, H)
    shadow = 1 - rng.uniform(0.2, 0.45) * np.exp(-(((xx - sx) / (0.35 * W)) ** 2 + ((yy - sy) / (0.3 * H)) ** 2))
    out = out * (light * shadow)[..., None] * np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 0.98)])
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.6, 1.4))
    out += np.random.default_rng(rng.randrange(2 ** 32)).normal(0, rng.uniform(2, 6), out.shape[:2])[..., None]
    q = rng.randint(72, 90)
    buf = io.BytesIO()
    Image.fromarray(out.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=q)
    return buf.getvalue(), {"size": (W, H), "tilt": round(tilt, 1), "rotation": round(math.degrees(rot), 1),
                            "jpeg": q, "corners": dst.round(1).tolist()}


def write_image_pdf(path: Path, pages: Sequence[tuple[bytes, str, tuple[int, int], str, float]]) -> Path:
    """An image-only PDF; each page (stream, "DCT"/"Flate1", (w, h), "RGB"/"L"/"1", dpi)."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for data, filt, (w, h), mode, dpi in pages:
        pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
        if filt == "DCT":
            cs, bpc, fl = (b"/DeviceGray" if mode == "L" else b"/DeviceRGB"), 8, b"/DCTDecode"
        else:
            cs, bpc, fl = b"/DeviceGray", 1, b"/FlateDecode"
        objects.append(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent %d "
                       b"/Filter %s /Length %d >>\nstream\n" % (w, h, cs, bpc, fl, len(data)) + data + b"\nendstream")
        img = len(objects)
        content = b"q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q" % (pw, ph)
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] /Resources << /XObject << /Im0 %d 0 R"
                       b" >> >> /Contents %d 0 R >>" % (pw, ph, img, img + 1))
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    Path(path).write_bytes(out.getvalue())
    return Path(path)


# --- the simulator ------------------------------------------------------------------------------


def simulate(app: App, out_dir: Path, *, forms: Sequence[tuple[str, Any]], seed: int,
             kinds: Sequence[str] = KINDS, keep: dict | None = None) -> list[PageTruth]:
    """Print ``forms``, fill them in, and deliver page ``i`` as ``kinds[i % len(kinds)]``:
    ``<out_dir>/<kind>.pdf`` for copier kinds, ``<out_dir>/photo/photo-NNNN.jpg`` for photos.
    ``keep``: if given, filled with {(kind, page): {"clean", "inked", "dpi"}} for tests."""
    import pdfplumber

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    office = (app.county.short_name or "") + "乡村振兴局"
    truths: list[PageTruth] = []
    streams: dict[str, list] = {k: [] for k in kinds if k != "photo"}
    with tempfile.TemporaryDirectory(prefix="papersim-") as tmp:
        printed = print_forms(app, forms, Path(tmp))
        docs: dict[Path, Any] = {}
        try:
            for i, item in enumerate(printed):
                kind = kinds[i % len(kinds)]
                tag = f"papersim-{seed}-{i}"
                if item.pdf not in docs:
                    docs[item.pdf] = pdfplumber.open(str(item.pdf))
                seen = see_page(docs[item.pdf].pages[item.page - 1])
                rng = random.Random(tag)
                dpi = rng.choice((200, 240)) if kind == "photo" else pick_dpi(rng)
                image = rasterise(item.pdf, item.page, dpi)
                clean = image.copy() if keep is not None else None
                boxes, signers, dates, stamps = fill_page(image, dpi, item.form, item.record, seen,
                                                          random.Random(tag + "-fill"), office)
                srng = random.Random(tag + "-scan")
                if kind == "photo":
                    jpeg, params = camera(image, srng)
                    photo_dir = out_dir / "photo"
                    photo_dir.mkdir(exist_ok=True)
                    file = photo_dir / f"photo-{sum(t.kind == 'photo' for t in truths) + 1:04d}.jpg"
                    file.write_bytes(jpeg)
                    where = (str(file), 1)
                else:
                    data, filt, params = copier(image, dpi, kind, srng)
                    streams[kind].append((data, filt, params["size"], "1" if filt == "Flate1" else params["mode"],
                                          float(dpi)))
                    where = (str(out_dir / f"{kind}.pdf"), len(streams[kind]))
                if keep is not None:
                    keep[(kind, where[1] if kind != "photo" else where[0])] = {"clean": clean, "inked": image,
                                                                               "dpi": dpi}
                truths.append(PageTruth(kind, where[0], where[1], item.form.id, item.form.version, item.ident,
                                        item.record is not None, dpi, params, boxes, signers, dates, stamps))
        finally:
            for d in docs.values():
                d.close()
    for kind, pages in streams.items():
        if pages:
            write_image_pdf(out_dir / f"{kind}.pdf", pages)
    return truths


def inputs(out_dir: Path, truths: Sequence[PageTruth], kind: str) -> list[Path]:
    """The files of one kind, as they would be given to ``fanpin parse``."""
    files = sorted({t.file for t in truths if t.kind == kind})
    return [Path(out_dir) / "photo"] if kind == "photo" and files else [Path(f) for f in files]


# --- scoring ---------------------------------------------------------------------------------------


@dataclass
class Item:
    kind: str  # identity / tick / signer / stamp / date
    page: str
    what: str
    truth: Any
    read: Any
    flagged: bool

    @property
    def right(self) -> bool:
        return self.truth == self.read

    @property
    def silent(self) -> bool:
        return not self.right and not self.flagged

    def __str__(self) -> str:
        state = ("ok" if not self.flagged else "ok,flag") if self.right else ("FLAGGED" if self.flagged else "SILENT")
        return f"{state:7} {self.kind:8} {self.page} {self.what}: truth={self.truth!r} read={self.read!r}"


def _ident_of(rec: dict) -> str | None:
    if rec.get("case_id") is not None:
        return f"C:{rec['case_id']}"
    if rec.get("serial") is not None:
        return f"S:{rec['serial']}"
    return None


def _failed(result) -> set[tuple[str, int | None]]:
    out: set[tuple[str, int | None]] = set()
    for page in getattr(result, "pages", None) or []:
        if isinstance(page, dict) and page.get("status") == "failed":
            out.add((Path(str(page.get("file", ""))).name, page.get("page")))
    for x in getattr(result, "failures", None) or []:
        if not isinstance(x, dict):
            loc = getattr(x, "location", None)
            x = {"source": getattr(loc, "file", "") or getattr(x, "source", ""), "page": getattr(loc, "page", None)}
        source, page = str(x.get("source", "")), x.get("page")
        m = re.match(r"^(.*) 第(\d+)页$", source)
        if m:
            source, page = m.group(1), int(m.group(2))
        out.add((Path(source).name, int(page) if page is not None else None))
    return out


def score(truths: Sequence[PageTruth], result) -> list[Item]:
    """Every value on the pages, scored against the reader's records and needs_review."""
    by_key: dict[tuple, list[dict]] = {}
    by_page: dict[tuple, list[dict]] = {}
    for rec in result.records:
        by_key.setdefault((rec.get("form"), _ident_of(rec)), []).append(rec)
        src = rec.get("source") or {}
        for p in src.get("pages") or []:
            by_page.setdefault((Path(src.get("file", "")).name, int(p)), []).append(rec)
    failed = _failed(result)
    items: list[Item] = []
    for t in truths:
        name = f"{t.kind}:{Path(t.file).name}#{t.page} {t.form} {t.ident}"
        found = by_key.get((t.form, t.ident), [])
        rec = found[0] if len(found) == 1 else None
        here = (Path(t.file).name, t.page)
        if rec is None:
            others = by_page.get(here, [])
            flagged = bool(found) or here in failed or (here[0], None) in failed or any(
                f.get("item") == "identity" for r in others for f in r.get("needs_review") or [])
            items.append(Item("identity", name, "form", t.ident, None, flagged))
            for b in t.boxes:
                items.append(Item("tick", name, f"{b.stage} {b.field} {CIRCLED[b.code]}", b.ticked, None, flagged))
            for s in t.signers:
                items.append(Item("stamp" if s.seal or "盖章" in s.marks and "签字" not in s.marks else "signer", name,
                                  f"{s.stage} {s.index}", s.present, None, flagged))
            for st, d in t.dates.items():
                items.append(Item("date", name, st, d, None, flagged))
            continue
        flags = {(f.get("stage"), f.get("item")) for f in rec.get("needs_review") or []}
        items.append(Item("identity", name, "form", t.ident, t.ident, any(k[1] == "identity" for k in flags)))
        stages = rec.get("stages") or {}
        for b in t.boxes:
            codes = (rec.get("codes") if b.stage is None else (stages.get(b.stage) or {}).get("codes")) or {}
            read = int(b.code) in {int(x) for x in codes.get(b.field) or []}
            items.append(Item("tick", name, f"{b.stage} {b.field} {CIRCLED[b.code]} {b.style}", b.ticked, read,
                              (b.stage, f"codes:{b.field}") in flags))
        for s in t.signers:
            rs = (stages.get(s.stage) or {}).get("signers") or []
            read = rs[s.index].get("present") if s.index < len(rs) else None
            kind = "stamp" if "盖章" in s.marks and "签字" not in s.marks else "signer"
            items.append(Item(kind, name, f"{s.stage} {s.index} {s.role}", s.present, read,
                              (s.stage, f"signature:{s.index}") in flags))
        for st, d in t.dates.items():
            items.append(Item("date", name, st, d, (stages.get(st) or {}).get("date"), (st, "date") in flags))
    return items


__all__ = ["KINDS", "BoxTruth", "Item", "PageTruth", "SignerTruth", "StampTruth", "households", "inputs",
           "load_records", "print_forms", "score", "see_page", "simulate", "write_image_pdf"]
