"""Where things are on a printed page, learnt from the page's own text layer.

A form printed by fanpin-forms comes out of LibreOffice with a text layer, so
pdfplumber can tell where every tick box (☐ followed by its circled numeral), every
signer's label ("入户核实人员（签字）："), every "年 月 日" line and the QR code stand.
The spec says what each of them means (which stage, which field, which code), so
:func:`page_geometry` pairs the two in reading order. Nothing is hard-coded per form:
a county's own form gets the same treatment.

Coordinates are PDF points with the origin at the top left (pdfplumber's ``top``),
so they scale to any scan resolution by ``dpi / 72``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..forms.model import CIRCLED, FormSpec, Ref, split_placeholders
from ..pagemark import BOX_EMPTY, BOX_TICKED

DATE_CHARS = ("年", "月", "日")
from .thresholds import SEAL_RADIUS, SIGN_ABOVE, SIGN_BELOW, YEAR_ROOM  # noqa: F401


@dataclass(frozen=True)
class Rect:
    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def grow(self, dx: float, dy: float | None = None) -> Rect:
        dy = dx if dy is None else dy
        return Rect(self.x0 - dx, self.top - dy, self.x1 + dx, self.bottom + dy)

    def scaled(self, factor: float) -> tuple[int, int, int, int]:
        """Pixel box (left, top, right, bottom) at ``factor`` pixels per point."""
        return (int(self.x0 * factor), int(self.top * factor), int(round(self.x1 * factor)), int(round(self.bottom * factor)))


@dataclass(frozen=True)
class TickBox:
    stage: str | None  # None: a box in the form's header text (annex 1)
    field: str  # the choice field the box belongs to
    code: int  # the code number (⑥ → 6)
    rect: Rect  # the ☐ glyph
    printed_ticked: bool = False  # ☑ on a pre-filled form


@dataclass(frozen=True)
class SignArea:
    stage: str
    index: int  # signer index within the stage
    role: str
    marks: tuple[str, ...]  # 签字 / 按手印 / 盖章
    label: Rect  # the printed label
    area: Rect  # where the signature (or seal, thumbprint) is expected


@dataclass(frozen=True)
class DateArea:
    stage: str
    line: Rect  # the printed "年 月 日"
    area: Rect  # the line plus room for the handwritten year


@dataclass(frozen=True)
class PageGeometry:
    form_id: str
    width: float
    height: float
    qr: Rect | None
    ident: Rect | None  # the small printed id line
    boxes: tuple[TickBox, ...] = ()
    signs: tuple[SignArea, ...] = ()
    dates: tuple[DateArea, ...] = ()
    table_right: float | None = None  # right border of the stage table
    lines: tuple[tuple[str, Rect], ...] = field(default=(), repr=False)  # every text line

    def boxes_of(self, stage: str | None, field_key: str) -> list[TickBox]:
        return [b for b in self.boxes if b.stage == stage and b.field == field_key]


class _Text:
    """The page's characters in reading order, searchable as text."""

    def __init__(self, chars: list[dict]):
        chars = [c for c in chars if c["text"].strip()]
        rows: list[list[dict]] = []
        for c in sorted(chars, key=lambda c: (round(c["top"]), c["x0"])):
            if rows and abs(rows[-1][0]["top"] - c["top"]) < 3:
                rows[-1].append(c)
            else:
                rows.append([c])
        self.rows = [sorted(r, key=lambda c: c["x0"]) for r in rows]

    def find(self, text: str, below: float = -1.0) -> Rect | None:
        """The first occurrence of ``text`` (spaces ignored) on one line below ``below``."""
        needle = "".join(text.split())
        for row in self.rows:
            if row[0]["top"] <= below:
                continue
            line = "".join(c["text"] for c in row)
            i = line.find(needle)
            if i >= 0:
                hit = row[i:i + len(needle)]
                return _span(hit)
        return None

    def lines(self) -> tuple[tuple[str, Rect], ...]:
        return tuple(("".join(c["text"] for c in row), _span(row)) for row in self.rows)


def _span(chars: list[dict]) -> Rect:
    return Rect(min(c["x0"] for c in chars), min(c["top"] for c in chars),
                max(c["x1"] for c in chars), max(c["bottom"] for c in chars))


def _choice_refs(form: FormSpec, text: str) -> list[tuple[str, list[int]]]:
    """(field, code numbers printed as boxes) for each choice blank in ``text``, in order."""
    out = []
    for part in split_placeholders(text):
        if not isinstance(part, Ref):
            continue
        for name in part.names:
            f = form.field(Ref.root_of(name))
            if f is not None and f.type in ("choice", "multi_choice") and f.code_lists:
                nos = [c.no for lid in f.code_lists for c in form.code_lists[lid].codes]
                out.append((f.key, nos))
    return out


def _box_sequence(form: FormSpec) -> list[tuple[str | None, str, int]]:
    """(stage, field, code) for every printed tick box, in printing order."""
    seq: list[tuple[str | None, str, int]] = []
    for block in form.layout:
        if block.kind == "text":
            seq += [(None, key, no) for key, nos in _choice_refs(form, block.value) for no in nos]
        elif block.kind in ("stages", "signature"):
            keys = [s.key for s in form.stages] if block.value == "all" else (
                [block.value] if isinstance(block.value, str) else list(block.value))
            for stage in (form.stage(k) for k in keys):
                seq += [(stage.key, key, no) for key, nos in _choice_refs(form, stage.text) for no in nos]
    return seq


def pair_boxes(form: FormSpec, printed_nos: list[int]) -> list[tuple[int, tuple[str | None, str, int]]]:
    """Pair printed boxes (their numerals, in printing order) with the spec's boxes:
    (index into ``printed_nos``, (stage, field, code)). A box the spec does not expect
    is skipped rather than shifting every box after it."""
    seq = _box_sequence(form)
    out, k = [], 0
    for i, no in enumerate(printed_nos):
        j = k
        while j < len(seq) and seq[j][2] != no:
            j += 1
        if j < len(seq):
            out.append((i, seq[j]))
            k = j + 1
    return out


def _stages_in_order(form: FormSpec) -> list:
    keys: list[str] = []
    for block in form.layout:
        if block.kind in ("stages", "signature"):
            keys += [s.key for s in form.stages] if block.value == "all" else (
                [block.value] if isinstance(block.value, str) else list(block.value))
    return [form.stage(k) for k in keys]


def page_geometry(page, form: FormSpec, county_values: dict[str, str] | None = None) -> PageGeometry:
    """Geometry of one pdfplumber page of ``form`` (a blank or a filled print)."""
    text = _Text(page.chars)
    # tick boxes: ☐/☑ glyphs, each followed by its circled numeral (which may have wrapped
    # onto the next line: annex 1's "☐④☐" + "⑤☐⑥…")
    flat = [c for row in text.rows for c in row]
    glyphs = []
    for i, c in enumerate(flat):
        if c["text"] in (BOX_EMPTY, BOX_TICKED) and i + 1 < len(flat) and flat[i + 1]["text"] in CIRCLED:
            glyphs.append((c, CIRCLED.index(flat[i + 1]["text"])))
    # pair glyphs with the spec's boxes by code number, in order (a glyph the spec does
    # not expect is skipped rather than shifting every box after it)
    boxes = [TickBox(stage, key, no, _span([glyphs[i][0]]), glyphs[i][0]["text"] == BOX_TICKED)
             for i, (stage, key, no) in pair_boxes(form, [no for _, no in glyphs])]

    right = _table_right(page)
    signs, dates = [], []
    below = -1.0
    values = county_values or {}
    for stage in _stages_in_order(form):
        last: Rect | None = None
        for i, signer in enumerate(stage.signers):
            label_text = _fill_county(signer.printed, values)
            label = text.find(label_text, below) or text.find(label_text.rstrip("："), below)
            if label is None:
                continue
            limit = right or page.width - 50
            # the label itself may be signed over: readers compare against the blank page
            area = Rect(label.x0, label.top - SIGN_ABOVE, limit - 2, label.bottom + SIGN_BELOW)
            if "盖章" in signer.marks or "按手印" in signer.marks:
                area = Rect(max(label.x0 - SEAL_RADIUS, 0), label.top - SEAL_RADIUS, limit - 2, label.bottom + SEAL_RADIUS / 2)
            signs.append(SignArea(stage.key, i, signer.role, signer.marks, label, area))
            last = label
            below = label.top
        if stage.date:
            line = text.find("年月日", (last.top - 1) if last else below)
            if line is not None:
                dates.append(DateArea(stage.key, line, Rect(line.x0 - YEAR_ROOM, line.top - 4, line.x1 + 4, line.bottom + 4)))
                below = line.top
        # a signer on the same line as the date: stop the signing area at the date
        if dates and dates[-1].stage == stage.key:
            d = dates[-1]
            signs[:] = [s if s.stage != stage.key or abs(s.label.top - d.line.top) > 3 or "盖章" in s.marks
                        else SignArea(s.stage, s.index, s.role, s.marks, s.label,
                                      Rect(s.area.x0, s.area.top, d.area.x0 - 2, s.area.bottom)) for s in signs]

    qr = None
    for img in page.images:
        r = Rect(img["x0"], img["top"], img["x1"], img["bottom"])
        if r.top < page.height / 4 and abs(r.width - r.height) < 3:
            qr = r
    ident = next((r for t, r in text.lines() if t.startswith(form.id) and "页" in t), None)
    return PageGeometry(form.id, float(page.width), float(page.height), qr, ident, tuple(boxes), tuple(signs),
                        tuple(dates), right, text.lines())


def _fill_county(text: str, values: dict[str, str]) -> str:
    parts = split_placeholders(text)
    return "".join(p if isinstance(p, str) else values.get(p.names[0], "") for p in parts)


def _table_right(page) -> float | None:
    verticals = [ln for ln in page.lines if abs(ln["x0"] - ln["x1"]) < 1 and ln["bottom"] - ln["top"] > 40]
    edges = [r for r in page.rects if r["height"] > 40]
    xs = [ln["x0"] for ln in verticals] + [r["x1"] for r in edges]
    return max(xs) if xs else None


def geometry_from_pdf(pdf: Path, form: FormSpec, county_values: dict[str, str] | None = None,
                      page_number: int = 1) -> PageGeometry:
    import pdfplumber

    with pdfplumber.open(str(pdf)) as doc:
        return page_geometry(doc.pages[page_number - 1], form, county_values)


def role_text(role: str, county_values: dict[str, str]) -> str:
    """A signer's role as printed ("{county.short_name:4}县…" → "岳阳县…")."""
    return _fill_county(role, county_values) if "{" in role else role
