"""Read-back helpers shared by the ``test_readback_*`` modules, and unit tests of the
small pure parts (dates, written codes, header patterns, tick grading).

The helpers print real forms through the product (spec template, ``record_context``,
LibreOffice via ``merged_pdf``) and make "scans" of them the way a copier would:
rasterised with pdfium, drawn on (ticks, signatures, red seals, dates), skewed, turned,
JPEG-compressed.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from fanpin_forms.readback.dates import parse_codes, parse_date
from fanpin_forms.readback.marks import TICK_EMPTY, TICK_TICKED, grade

from .conftest import household, make_id, write_xlsx

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
BLUE = (25, 45, 150)
RED = (215, 35, 40)


# --- printing ----------------------------------------------------------------------------------


def households(n: int = 3) -> list[dict]:
    rows = []
    for i in range(n):
        rows.append(household(**{"户编号": f"T-{i + 1:03d}", "户主姓名": ["张三", "李建国", "王秀英", "刘桂兰"][i % 4],
                                 "身份证号码": make_id(seq=f"{i + 11:03d}"),
                                 "联系电话": f"1380730{1234 + i:04d}",
                                 "三保障问题": ["①③", "④", "②⑤", ""][i % 4], "风险类型": ["⑥", "⑦⑬", "⑨", "⑥"][i % 4]}))
    return rows


def print_forms(app, form_id: str, out: Path, rows: list[dict] | None = None, blanks: int = 0,
                data: Path | None = None) -> tuple[Path, Path | None]:
    """One PDF: a pre-filled page per row (from an .xlsx written for them), then ``blanks``
    blank forms. Returns (pdf, data file)."""
    from fanpin_forms.readback.reference import reference_year
    from fanpin_forms.render.context import record_context, record_ident
    from fanpin_forms.render.fill import compile_for
    from fanpin_forms.render.pdfout import merged_pdf

    form = app.form(form_id)
    year = reference_year(app.county)
    contexts = []
    if rows:
        data = data or write_xlsx(out.with_suffix(".xlsx"), rows)
        result = app.load_and_check(form, data)
        assert not result.errors, [str(p) for p in result.errors]
        contexts += [record_context(form, r, app.county, year, record_ident(r, i + 1), types=app.field_types)
                     for i, r in enumerate(result.records)]
    for n in range(blanks):
        contexts.append(record_context(form, None, app.county, year, f"S:{form_id}-20220601-{n + 1}",
                                       types=app.field_types))
    merged_pdf(compile_for(form, None), contexts, out, workers=1, label=form_id)
    return out, data


def geometry(app, pdf: Path, form_id: str, page: int = 1):
    """Where things are on this very page (its own text layer), in points."""
    from fanpin_forms.readback.geometry import geometry_from_pdf
    from fanpin_forms.readback.reference import reference_year

    return geometry_from_pdf(pdf, app.form(form_id), app.county.placeholders(reference_year(app.county)), page)


# --- scanning ------------------------------------------------------------------------------------


class Pen:
    """Draws on a page image in PDF points (the page is rendered at ``dpi``)."""

    def __init__(self, image: Image.Image, dpi: int):
        self.image, self.s = image, dpi / 72.0
        self.draw = ImageDraw.Draw(image)

    def p(self, x: float, y: float) -> tuple[float, float]:
        return x * self.s, y * self.s

    def tick(self, rect, color=BLUE) -> None:
        """A handwritten ✓ over a box (a little bigger than the box, as people do)."""
        w = max(2, int(self.s * 0.9))
        self.draw.line([self.p(rect.x0 + 1.5, rect.top + rect.height * 0.55), self.p(rect.x0 + 4, rect.bottom - 1.5),
                        self.p(rect.x1 + 2.5, rect.top - 2.5)], fill=color, width=w, joint="curve")

    def cross(self, rect, color=BLUE) -> None:
        w = max(2, int(self.s * 0.9))
        self.draw.line([self.p(rect.x0 + 1.5, rect.top + 2), self.p(rect.x1 - 1.5, rect.bottom - 2)], fill=color, width=w)
        self.draw.line([self.p(rect.x1 - 1.5, rect.top + 2), self.p(rect.x0 + 1.5, rect.bottom - 2)], fill=color, width=w)

    def strike(self, rect, color=BLUE) -> None:
        """A heavy line through a box and on past both sides of it."""
        y = (rect.top + rect.bottom) / 2 + 1
        self.draw.line([self.p(rect.x0 - 9, y), self.p(rect.x1 + 9, y)], fill=color, width=max(3, int(self.s * 1.4)))

    def signature(self, label, color=(20, 20, 60)) -> None:
        """Three scrawled characters to the right of a signer's label."""
        x, y = label.x1 + 8, label.top - 3
        w = max(2, int(self.s * 0.7))
        for k in range(3):
            x0 = x + k * 17
            pts = [(x0, y + 4), (x0 + 12, y + 2), (x0 + 3, y + 10), (x0 + 14, y + 12), (x0 + 6, y + 17), (x0 + 13, y + 6)]
            self.draw.line([self.p(*q) for q in pts], fill=color, width=w, joint="curve")

    def seal(self, cx: float, cy: float, r: float = 21.0, color=RED) -> None:
        """A round red stamp: ring, star and a little text."""
        box = [*self.p(cx - r, cy - r), *self.p(cx + r, cy + r)]
        self.draw.ellipse(box, outline=color, width=max(3, int(self.s * 1.3)))
        star = [self.p(cx + 6 * math.cos(a * math.pi / 5 - math.pi / 2) * (1 if a % 2 == 0 else 0.45),
                       cy + 6 * math.sin(a * math.pi / 5 - math.pi / 2) * (1 if a % 2 == 0 else 0.45)) for a in range(10)]
        self.draw.polygon(star, fill=color)
        font = ImageFont.truetype(CJK_FONT, int(5 * self.s))
        self.draw.text(self.p(cx - 12, cy + 8), "乡村振兴", font=font, fill=color)

    def thumbprint(self, cx: float, cy: float, color=(200, 40, 50)) -> None:
        for k in range(7):
            box = [*self.p(cx - 9 + k, cy - 12 + k * 1.2), *self.p(cx + 9 - k, cy + 12 - k * 1.2)]
            self.draw.ellipse(box, outline=color, width=max(2, int(self.s * 0.6)))

    def write(self, x: float, y: float, text: str, size: float = 11.0, color=BLUE) -> None:
        font = ImageFont.truetype(CJK_FONT, int(size * self.s))
        self.draw.text(self.p(x, y), text, font=font, fill=color)

    def date(self, area, day: dt.date, color=BLUE) -> None:
        """Digits written on a printed "年 月 日" line."""
        line = area.line
        y = line.top - 2
        self.write(line.x0 - 36, y, str(day.year), color=color)
        self.write(line.x0 + 17, y, str(day.month), color=color)
        self.write(line.x0 + 51, y, str(day.day), color=color)


def scan(pdf: Path, page: int = 1, *, dpi: int = 200, turn: int = 0, skew: float = 0.0, jpeg: int | None = 85,
         draw: Callable[[Pen], None] | None = None, seed: int = 0, noise: float = 3.0) -> Image.Image:
    """The page as a copier returns it: drawn on, skewed ``skew`` degrees, turned ``turn``
    degrees counter-clockwise (0/90/180/270), noisy, JPEG-compressed."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        img = doc[page - 1].render(scale=dpi / 72.0).to_pil().convert("RGB")
    finally:
        doc.close()
    if draw is not None:
        draw(Pen(img, dpi))
    if skew:
        img = img.rotate(skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    if turn:
        img = img.rotate(turn, expand=True)
    if noise:
        rng = np.random.default_rng(seed)
        arr = np.asarray(img).astype(np.int16) + rng.normal(0, noise, (img.height, img.width, 1)).astype(np.int16)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if jpeg:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=jpeg)
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    img.info["dpi"] = (dpi, dpi)
    return img


def save_png(img: Image.Image, path: Path, dpi: int) -> Path:
    img.save(path, dpi=(dpi, dpi))
    return path


def save_pdf(images: list[Image.Image], path: Path, dpi: int = 200) -> Path:
    """An image-only PDF, as a copier's scan-to-PDF makes it."""
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return path


def parse(app, paths, **kw):
    from fanpin_forms.readback.run import parse_inputs

    kw.setdefault("workers", 1)
    return parse_inputs(app.read_setup(), [Path(p) for p in paths], **kw)


def only_record(result) -> dict:
    assert len(result.records) == 1, [(r["form"], r["case_id"], r["serial"]) for r in result.records]
    return result.records[0]


def ticked(record: dict) -> dict:
    """{(stage, field): codes} of every non-empty tick list (None: boxes outside stages)."""
    out = {(None, k): v for k, v in record["codes"].items() if v}
    for key, st in record["stages"].items():
        out.update({(key, k): v for k, v in st["codes"].items() if v})
    return out


# --- unit tests of the small parts -------------------------------------------------------------------


@pytest.mark.parametrize("text, expected, at_least", [
    ("2022 年6 月3 日", dt.date(2022, 6, 3), 0.9),
    ("2022年06月03日", dt.date(2022, 6, 3), 0.9),
    ("章)2,022年6月28日", dt.date(2022, 6, 28), 0.9),
    ("2O22年6月3日", dt.date(2022, 6, 3), 0.7),
    ("22年6月3日", dt.date(2022, 6, 3), 0.5),
])
def test_dates_are_read_with_the_guessing_priced_in(text, expected, at_least):
    reading = parse_date(text, 0.95, today=dt.date(2024, 1, 1))
    assert reading.value == expected and reading.confidence >= at_least
    if text != "2022年06月03日" and text != "2022 年6 月3 日" and "章" not in text:
        assert reading.confidence < 0.95  # a guess costs confidence


@pytest.mark.parametrize("text, why", [
    ("2022年13月3日", "不存在"), ("2099年1月1日", "晚于今天"), ("2012年5月1日", "早于"), ("年 月 日", "没有读出"),
])
def test_impossible_dates_are_not_dates(text, why):
    reading = parse_date(text, 0.99, today=dt.date(2024, 1, 1))
    assert reading.value is None and why in reading.invalid and reading.confidence < 0.5


def test_written_codes():
    assert parse_codes("①③", {1, 2, 3, 4, 5}) == ([1, 3], True)
    assert parse_codes("1、3", {1, 2, 3, 4, 5}) == ([1, 3], True)
    assert parse_codes("⑥⑬", {6, 7, 13}) == ([6, 13], True)
    assert parse_codes("③⑨", {1, 2, 3, 4, 5}) == ([3], False)  # ⑨ is not a code of this field


def test_tick_grading_has_a_doubt_band():
    assert grade(0.0, TICK_EMPTY, TICK_TICKED) == (False, 1.0)
    assert grade(0.3, TICK_EMPTY, TICK_TICKED)[0] is True
    state, conf = grade((TICK_EMPTY + TICK_TICKED) / 2, TICK_EMPTY, TICK_TICKED)
    assert conf < 0.6  # in between: review, whatever the guess


def test_header_values_come_back_from_text_and_from_ocr_lines(app):
    from fanpin_forms.readback.fields import HeaderLayout

    header = HeaderLayout(app.form("annex2"))
    text = "户主姓名：\u3000李建国\u3000家庭人口：\u20024\u2002人\u3000身份证号码：430621199102118030\n" \
           "\u3000岳阳\u3000县（市区）\u3000荣家湾\u3000乡镇（街道/社区）\u3000杨林\u3000村\u3000二\u3000组\n联系电话：13146676885"
    got = {k: v for k, (v, _) in header.parse(text).items()}
    assert got == {"head_name": "李建国", "household_size": "4", "id_number": "430621199102118030",
                   "address.county": "岳阳", "address.township": "荣家湾", "address.village": "杨林",
                   "address.group": "二", "phone": "13146676885"}
    # OCR: ASCII colons, a label broken over two lines, scores per line
    ocr = "户主姓名:李建国家庭人口:4人 身份证号\n码:430621199102118030"
    values = header.parse(ocr, [0.97, 0.6])
    assert values["head_name"] == ("李建国", 0.97) and values["id_number"] == ("430621199102118030", 0.6)
