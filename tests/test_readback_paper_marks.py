"""Read-back on paper as an office returns it: seals on colour, grey and 1-bit scans,
signatures that run into the date, faint ticks at 150 dpi.

The marks are drawn where a person puts them, found on the printed page by its text
(pdfplumber's characters: "（盖章）", "年 月 日", "☐①"), never from the reader's own
geometry; seals are the size of real ones (40 mm across). The page is then scanned
in colour and converted with PIL as copiers do: greyscale, thresholded black and white,
dithered black and white. What is asserted is what a county relies on: a seal is found
or sent to review (never a confident 未盖章), a date is right or sent to review, a tick
is right or sent to review.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from .test_readback_common import CJK_FONT, only_record, parse, print_forms, save_png, scan

pytestmark = pytest.mark.slow

MM = 72 / 25.4  # points per millimetre
SEAL_RED = (205, 35, 45)


@pytest.fixture(scope="module")
def annex3(app, tmp_path_factory):
    pdf, _ = print_forms(app, "annex3", tmp_path_factory.mktemp("a3") / "annex3.pdf", blanks=1)
    return pdf


@pytest.fixture(scope="module")
def annex2(app, tmp_path_factory):
    pdf, _ = print_forms(app, "annex2", tmp_path_factory.mktemp("a2") / "annex2.pdf", blanks=1)
    return pdf


# --- what a person sees on the printed page ------------------------------------------------------


def _rows(pdf: Path, page: int = 1) -> list[list[dict]]:
    import pdfplumber

    with pdfplumber.open(str(pdf)) as doc:
        chars = [c for c in doc.pages[page - 1].chars if c["text"].strip()]
    rows: list[list[dict]] = []
    for c in sorted(chars, key=lambda c: (round(c["top"]), c["x0"])):
        if rows and abs(rows[-1][0]["top"] - c["top"]) < 3:
            rows[-1].append(c)
        else:
            rows.append([c])
    return [sorted(r, key=lambda c: c["x0"]) for r in rows]


def find(pdf: Path, text: str, page: int = 1, nth: int = 0) -> tuple[float, float, float, float]:
    """(x0, top, x1, bottom) in points of the ``nth`` place ``text`` is printed."""
    hits = []
    for row in _rows(pdf, page):
        line = "".join(c["text"] for c in row)
        at = line.find(text)
        while at >= 0:
            cs = row[at:at + len(text)]
            hits.append((min(c["x0"] for c in cs), min(c["top"] for c in cs), max(c["x1"] for c in cs),
                         max(c["bottom"] for c in cs)))
            at = line.find(text, at + 1)
    assert len(hits) > nth, f"{text!r} is not printed on page {page}"
    return hits[nth]


def char_after(pdf: Path, anchor: tuple[float, float, float, float], char: str, page: int = 1, below: float = 3.0):
    """The first ``char`` printed on the anchor's line right of it, else on the next lines
    (within ``below`` points under the anchor's top)."""
    for row in _rows(pdf, page):
        top = min(c["top"] for c in row)
        if anchor[1] - 3 <= top <= anchor[1] + below:
            for c in row:
                if c["text"] == char and (top > anchor[1] + 3 or c["x0"] > anchor[2] - 1):
                    return c["x0"], c["top"], c["x1"], c["bottom"]
    raise AssertionError(f"no {char!r} after {anchor}")


# --- drawing -------------------------------------------------------------------------------------------


def draw_seal(img: Image.Image, dpi: int, cx: float, cy: float, diameter_mm: float = 40.0, ink=SEAL_RED) -> None:
    """An official round seal (points): a ring ~1.2 mm wide, a star, the office's name
    around the top; the stamp pad inks unevenly. Multiplied over the page (ink over print)."""
    f = dpi / 72
    r = diameter_mm / 2 * MM * f
    size = int(2 * r + 8)
    mask = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(mask)
    c = size / 2
    d.ellipse((c - r, c - r, c + r, c + r), outline=255, width=max(2, int(1.2 * MM * f)))
    star = [(c + (0.28 * r if k % 2 == 0 else 0.11 * r) * math.cos(-math.pi / 2 + k * math.pi / 5),
             c + (0.28 * r if k % 2 == 0 else 0.11 * r) * math.sin(-math.pi / 2 + k * math.pi / 5)) for k in range(10)]
    d.polygon(star, fill=255)
    font = ImageFont.truetype(CJK_FONT, int(r * 0.28))
    text = "岳阳县乡村振兴局"
    for k, ch in enumerate(text):
        a = -math.pi / 2 - math.radians(110) + math.radians(220) * (k + 0.5) / len(text)
        tile = Image.new("L", (int(font.size * 1.5),) * 2, 0)
        ImageDraw.Draw(tile).text((font.size * 0.25, font.size * 0.1), ch, font=font, fill=255)
        tile = tile.rotate(-math.degrees(a) - 90)
        rr = r * 0.72
        mask.paste(255, (int(c + rr * math.cos(a) - tile.width / 2), int(c + rr * math.sin(a) - tile.height / 2)), tile)
    m = np.asarray(mask, np.float32) / 255.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    m *= 0.7 + 0.3 * np.sin(xx / size * 5.0) * np.cos(yy / size * 3.0)  # uneven ink
    page = np.asarray(img).astype(np.float32)
    x0, y0 = int(cx * f - size / 2), int(cy * f - size / 2)
    sub = page[y0:y0 + size, x0:x0 + size]
    mm = m[:sub.shape[0], :sub.shape[1], None]
    sub[:] = sub * (1 - mm) + sub * (np.asarray(ink, np.float32) / 255.0) * mm
    img.paste(Image.fromarray(page.clip(0, 255).astype(np.uint8)))


def scrawl(draw: ImageDraw.ImageDraw, dpi: int, x0: float, x1: float, y: float, color=(25, 25, 70)) -> None:
    """A running signature from ``x0`` to ``x1`` (points) about the line at ``y``."""
    f = dpi / 72
    pts = []
    n = max(6, int((x1 - x0) / 4))
    for k in range(n + 1):
        x = x0 + (x1 - x0) * k / n
        pts.append((x * f, (y + (5 if k % 2 else -5) + 2 * math.sin(k)) * f))
    draw.line(pts, fill=color, width=max(2, int(0.7 * f)), joint="curve")


def write(draw: ImageDraw.ImageDraw, dpi: int, x: float, y: float, text: str, color=(20, 40, 160)) -> None:
    f = dpi / 72
    draw.text((x * f, y * f), text, font=ImageFont.truetype(CJK_FONT, int(11 * f)), fill=color)


def as_kind(img: Image.Image, kind: str) -> Image.Image:
    """The scan as a copier set to ``kind`` returns it."""
    if kind == "grey":
        return img.convert("L")
    if kind == "bw":
        return img.convert("L").point(lambda v: 255 if v > 150 else 0).convert("1", dither=Image.Dither.NONE)
    if kind == "dither":
        return img.convert("L").convert("1")
    return img


def reviews(rec: dict, stage: str, item: str) -> list[dict]:
    return [it for it in rec["needs_review"] if it["stage"] == stage and it["item"] == item]


# --- seals ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["colour", "grey", "bw", "dither"])
def test_a_seal_over_label_date_and_line_is_found_or_sent_to_review(app, annex3, tmp_path, kind):
    label = find(annex3, "（盖章）")
    nian = char_after(annex3, label, "年", below=40)

    def draw(pen):
        # over the end of the label and the date below it, as a county clerk stamps it
        draw_seal(pen.image, 200, nian[0] + 10, (label[3] + nian[1]) / 2)

    img = as_kind(scan(annex3, draw=draw, dpi=200, skew=0.8, jpeg=88), kind)
    rec = only_record(parse(app, [save_png(img, tmp_path / f"seal-{kind}.png", 200)]))
    county = rec["stages"]["county_approval"]["signers"][0]
    if kind in ("colour", "grey"):
        assert county["seal"] and county["present"] and county["confidence"] >= 0.6
        assert not reviews(rec, "county_approval", "signature:0")
    else:  # found, or a person looks: never a confident 未盖章
        assert (county["seal"] and county["present"]) or reviews(rec, "county_approval", "signature:0")
    assert not any(s["seal"] for k, st in rec["stages"].items() if k != "county_approval" for s in st["signers"])


@pytest.mark.parametrize("kind", ["grey", "bw"])
def test_without_colour_an_unstamped_area_is_unstamped_and_ink_there_is_not_a_guess(app, annex3, tmp_path, kind):
    label = find(annex3, "（盖章）")
    empty = only_record(parse(app, [save_png(as_kind(scan(annex3, dpi=200), kind), tmp_path / "e.png", 200)]))
    county = empty["stages"]["county_approval"]["signers"][0]
    assert not county["present"] and not county["seal"] and county["confidence"] >= 0.6
    assert empty["needs_review"] == []

    def draw(pen):  # someone wrote over the place of the seal: no ring, but ink
        scrawl(pen.draw, 200, label[0] + 10, label[2] + 30, label[1] - 14)
        scrawl(pen.draw, 200, label[0] + 20, label[2] + 20, label[3] + 12)

    inked = only_record(parse(app, [save_png(as_kind(scan(annex3, draw=draw, dpi=200), kind),
                                             tmp_path / "i.png", 200)]))
    county = inked["stages"]["county_approval"]["signers"][0]
    assert county["present"] or reviews(inked, "county_approval", "signature:0")
    assert not (not county["present"] and county["confidence"] >= 0.6)


# --- a signature running into the date ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["colour", "grey"])
def test_a_signature_running_into_the_year_is_a_signature_and_the_date_is_right_or_flagged(app, annex3, tmp_path,
                                                                                          kind):
    label = find(annex3, "支部书记（签字）：")
    nian, yue, ri = (char_after(annex3, label, ch, below=40) for ch in "年月日")
    day = dt.date(2022, 9, 14)
    # the template leaves every signer 35 mm (99 pt) of free line: the date shares the label's
    # line only when it starts further right than that, else it has a line of its own
    same_line = nian[1] < label[3]
    assert not same_line or nian[0] - 27 - label[2] >= 99
    end = nian[0] - 14 if same_line else label[2] + 3 + 99

    def draw(pen):
        # the name starts after the colon and runs on to the end of its free line (into the
        # year when the date shares the line)
        scrawl(pen.draw, 200, label[2] + 3, end, (label[1] + label[3]) / 2)
        write(pen.draw, 200, nian[0] - 27, nian[1] - 2, str(day.year))
        write(pen.draw, 200, yue[0] - 13, yue[1] - 2, str(day.month))
        write(pen.draw, 200, ri[0] - 13, ri[1] - 2, str(day.day))

    rec = only_record(parse(app, [save_png(as_kind(scan(annex3, draw=draw, dpi=200), kind), tmp_path / "s.png", 200)]))
    st = rec["stages"]["village_review"]
    assert st["signers"][0]["present"] and st["signed"]
    if st["date"] is not None:
        assert st["date"] == day.isoformat()
    assert st["date"] == day.isoformat() or reviews(rec, "village_review", "date")
    # nobody else signed because of it
    assert not rec["stages"]["township_review"]["signed"] and not rec["stages"]["county_approval"]["signed"]


# --- ticks ---------------------------------------------------------------------------------------------


def _box(pdf: Path, numeral: str) -> tuple[float, float, float, float]:
    """The printed ☐ before ``numeral`` (its first occurrence), in points."""
    for row in _rows(pdf):
        for a, b in zip(row, row[1:]):
            if a["text"] == "☐" and b["text"] == numeral:
                return a["x0"], a["top"], a["x1"], a["bottom"]
    raise AssertionError(f"no ☐{numeral}")


def _tick(draw, dpi, box, color, width_pt):
    f = dpi / 72
    x0, top, x1, bottom = box
    h = bottom - top
    draw.line([(x0 + 0.15 * h) * f, (top + 0.55 * h) * f, (x0 + 0.4 * h) * f, (bottom - 0.12 * h) * f,
               (x1 + 0.25 * h) * f, (top - 0.2 * h) * f], fill=color, width=max(1, int(width_pt * f)), joint="curve")


def _ticked(rec: dict) -> dict[str, list[int]]:
    return {k: v for k, v in rec["stages"]["home_visit"]["codes"].items() if v}


@pytest.mark.parametrize("kind", ["colour", "grey", "bw"])
def test_light_and_heavy_ticks_at_150_dpi_are_read_or_sent_to_review(app, annex2, tmp_path, kind):
    heavy, light, pale = _box(annex2, "①"), _box(annex2, "③"), _box(annex2, "⑥")

    def draw(pen):
        _tick(pen.draw, 150, heavy, (10, 10, 90), 1.1)
        _tick(pen.draw, 150, light, (120, 120, 150), 0.6)  # a light ballpoint
        _tick(pen.draw, 150, pale, (165, 165, 175), 0.6)  # a hard pencil (gone on a thresholded copy)

    img = as_kind(scan(annex2, 1, draw=draw, dpi=150, jpeg=80, noise=4.0), kind)
    rec = only_record(parse(app, [save_png(img, tmp_path / f"t-{kind}.png", 150)]))
    got = _ticked(rec)
    flagged = {it["item"].split(":")[1] for it in reviews(rec, "home_visit", "codes:sanbaozhang")
               + reviews(rec, "home_visit", "codes:risk_types")}
    assert 1 in got.get("sanbaozhang", []), got  # a heavy tick is never missed
    for field, code in (("sanbaozhang", 3), ("risk_types", 6))[:1 if kind == "bw" else 2]:
        assert code in got.get(field, []) or field in flagged, (field, code, got, flagged)
    # and no box that nobody touched is taken for a tick
    assert set(got.get("sanbaozhang", [])) <= {1, 3} and set(got.get("risk_types", [])) <= {6}


def test_a_crossed_out_tick_goes_to_review(app, annex2, tmp_path):
    box = _box(annex2, "②")

    def draw(pen):
        f = 150 / 72
        _tick(pen.draw, 150, box, (10, 10, 90), 1.0)
        x0, top, x1, bottom = box  # then scribbled out, over and beyond the box
        for k in range(6):
            pen.draw.line([((x0 - 4) * f, (top + k * 2) * f), ((x1 + 4) * f, (top - 2 + k * 2.4) * f)],
                          fill=(10, 10, 90), width=max(2, int(1.2 * f)))

    rec = only_record(parse(app, [save_png(as_kind(scan(annex2, 1, draw=draw, dpi=150), "grey"),
                                           tmp_path / "x.png", 150)]))
    assert reviews(rec, "home_visit", "codes:sanbaozhang"), (rec["stages"]["home_visit"]["codes"], rec["needs_review"])


# --- the review queue: what is worth a look, and what a person sees -------------------------------


def test_a_signed_stage_without_a_date_is_flagged_with_its_crop_and_unsigned_ones_are_not(app, annex3, tmp_path):
    label = find(annex3, "户主签名：")

    def draw(pen):
        scrawl(pen.draw, 200, label[2] + 4, label[2] + 80, (label[1] + label[3]) / 2)

    result = parse(app, [save_png(as_kind(scan(annex3, draw=draw, dpi=200), "grey"), tmp_path / "n.png", 200)],
                   review_dir=tmp_path / "rev")
    rec = only_record(result)
    assert rec["stages"]["household_confirm"]["signed"] and rec["stages"]["household_confirm"]["date"] is None
    flagged = [it for it in rec["needs_review"] if it["item"] == "date"]
    assert [it["stage"] for it in flagged] == ["household_confirm"]  # the unsigned stages' empty dates are normal
    assert flagged[0]["crop"] and (tmp_path / "rev" / flagged[0]["crop"]).is_file()


def test_a_header_value_that_is_not_read_goes_to_review_with_the_image_of_its_place(app, tmp_path):
    from .test_readback_common import households

    pdf, data = print_forms(app, "annex1", tmp_path / "a1.pdf", households(1))
    row = next(r for r in _rows(pdf) if "市（州）" in "".join(c["text"] for c in r))
    text = "".join(c["text"] for c in row)
    at = text.index("市（州）")
    start = at
    while start > 0 and text[start - 1] not in "：:）)":
        start -= 1
    assert start < at, text  # the printed city before its label
    value = row[start:at]

    def draw(pen):  # the printed city is lost (a fold, a smudge wiped white)
        f = 200 / 72
        pen.draw.rectangle([(value[0]["x0"] - 1) * f, (value[0]["top"] - 1) * f, (value[-1]["x1"] + 1) * f,
                            (value[-1]["bottom"] + 1) * f], fill="white")

    result = parse(app, [save_png(scan(pdf, draw=draw, dpi=200), tmp_path / "h.png", 200)], data=data,
                   review_dir=tmp_path / "rev")
    rec = only_record(result)
    items = [it for it in rec["needs_review"] if it["item"] == "field:address.city"]
    assert len(items) == 1, rec["needs_review"]
    assert items[0]["crop"] and (tmp_path / "rev" / items[0]["crop"]).is_file()
