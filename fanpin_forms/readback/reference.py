"""The blank form a scan is compared with: one per (form id, version), made once.

The blank is printed through the product's own path (the spec's template, a blank
context, LibreOffice → PDF; handed in as :class:`~.setup.Printer`) and cached under ``$XDG_CACHE_HOME/fanpin_forms/``
(``~/.cache/fanpin_forms/``), keyed by form id, version and a hash of the template
and the printed county values, so a changed spec or county plugin makes a new one.
Several processes may need the same blank at once: a lock file makes the first
one build it and the others wait and read it.

From the blank PDF come the page geometry (every tick box, signing area, date line;
:mod:`.geometry`), the header lines that carry pre-filled values (:mod:`.fields`)
and, per scan resolution, a raster of the blank with its printed ink, which the
ink measures subtract (:mod:`.marks`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import Code, FanpinError, ReadBackError
from ..forms.model import FormSpec
from .geometry import PageGeometry, Rect, geometry_from_pdf
from .setup import ReadSetup
from .thresholds import REF_DARK

#: the ident printed on the reference blank (never on a real form)
REFERENCE_IDENT = "S:reference"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fanpin_forms" / "reference"


def _usable_cache() -> Path:
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return folder
    except OSError:
        folder = Path(tempfile.gettempdir()) / f"fanpin_forms-reference-{os.getuid() if hasattr(os, 'getuid') else 0}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def reference_year(county) -> int | None:
    """Any year with a baseline: the geometry does not depend on it."""
    years = sorted(getattr(county, "baselines", {}) or {})
    return years[-1] if years else None


def reference_pdf(setup: ReadSetup, form: FormSpec) -> Path:
    """The blank PDF of ``form`` (printed through ``setup.printer`` on first use, then cached)."""
    printer = setup.printer
    county = setup.county
    year = reference_year(county)
    try:
        compiled = printer.compile(form, None)
        ctx = printer.context(form, None, county, year, REFERENCE_IDENT, types=setup.field_types)
    except FanpinError as exc:
        raise ReadBackError.of(Code.READ_REFERENCE_FAILED, form=form.id, why=exc.problems[0].message) from None
    digest = hashlib.sha1(compiled.data)
    digest.update(json.dumps({k: v for k, v in ctx.items() if isinstance(v, str)}, sort_keys=True,
                             ensure_ascii=False).encode("utf-8"))
    folder = _usable_cache()
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{form.id}-{form.version}")
    path = folder / f"{safe}-{digest.hexdigest()[:16]}.pdf"
    if path.is_file() and path.stat().st_size > 0:
        return path
    with _locked(folder / (path.name + ".lock")):
        if path.is_file() and path.stat().st_size > 0:
            return path
        try:
            printer.to_pdf(compiled, [ctx], path, workers=1, label=form.id)
        except FanpinError as exc:
            raise ReadBackError.of(Code.READ_REFERENCE_FAILED, form=form.id,
                                   why="；".join(p.message for p in exc.problems[:2])) from None
    return path


@contextlib.contextmanager
def _locked(lock: Path):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, the atomic write still keeps the file whole
        yield
        return
    with open(lock, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass
class Raster:
    """The blank page at ``dpi``: grey image and its printed ink (dilated to absorb misalignment)."""

    dpi: int
    gray: np.ndarray
    ink: np.ndarray  # bool, dilated printed ink
    boxes: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)  # box index → drawn square (px)

    @property
    def scale(self) -> float:
        """Pixels per PDF point."""
        return self.dpi / 72.0

    def px(self, rect: Rect) -> tuple[int, int, int, int]:
        h, w = self.gray.shape
        x0, y0, x1, y1 = rect.scaled(self.scale)
        return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


class Reference:
    """Everything known about the blank of one form: geometry, header lines, rasters."""

    def __init__(self, form: FormSpec, pdf: Path, county_values: dict[str, str]):
        self.form = form
        self.pdf = pdf
        self.county_values = county_values
        self._rasters: dict[int, Raster] = {}

    @cached_property
    def pages(self) -> int:
        from ..office.libreoffice import page_count

        return page_count(self.pdf)

    @cached_property
    def geometries(self) -> list[PageGeometry]:
        return [geometry_from_pdf(self.pdf, self.form, self.county_values, n) for n in range(1, self.pages + 1)]

    def geometry(self, page: int = 1) -> PageGeometry:
        return self.geometries[min(max(page, 1), len(self.geometries)) - 1]

    @cached_property
    def code_blanks(self) -> dict[tuple[str | None, str], Rect]:
        """(stage, field) → the blank printed before its tick boxes ("（填序号）______☐①…"),
        where a clerk may write the numbers instead of ticking."""
        import pdfplumber

        out: dict[tuple[str | None, str], Rect] = {}
        geo = self.geometry(1)
        firsts: dict[tuple[str | None, str], Rect] = {}
        for box in geo.boxes:
            firsts.setdefault((box.stage, box.field), box.rect)
        with pdfplumber.open(str(self.pdf)) as doc:
            chars = doc.pages[0].chars
        for key, first in firsts.items():
            row = sorted((c for c in chars if abs(c["top"] - first.top) < 3 and c["x1"] <= first.x0 + 1),
                         key=lambda c: c["x0"])
            start = None
            for c in reversed(row):
                if c["text"].strip():
                    break
                start = c
            if start is not None and first.x0 - start["x0"] > 8:
                out[key] = Rect(start["x0"], first.top - 3, first.x0 - 1, first.bottom + 2)
        return out

    @cached_property
    def slot_regions(self) -> dict[str, tuple[int, float, float]]:
        """Header value key → (header line index, x0, x1): the room between the printed
        labels around its blank, in points. Values printed or written there are OCR'd
        alone (a short crop is several times faster than the whole line)."""
        import pdfplumber

        from .fields import norm

        header = self.header
        rects = header.line_rects
        if not rects:
            return {}
        geo = self.geometry(1)
        left = min(r.x0 for _, r in geo.lines)
        right = max(r.x1 for _, r in geo.lines)
        with pdfplumber.open(str(self.pdf)) as doc:
            chars = [c for c in doc.pages[0].chars if c["text"].strip()]
        seq: list[tuple[str, int, float, float]] = []
        for li, rect in enumerate(rects):
            row = sorted((c for c in chars if abs(c["top"] - rect.top) < 3), key=lambda c: c["x0"])
            for c in row:
                for ch in norm(c["text"]):
                    seq.append((ch, li, float(c["x0"]), float(c["x1"])))
            seq.append(("\n", li, 0.0, 0.0))
        text = "".join(s[0] for s in seq)
        out: dict[str, tuple[int, float, float]] = {}
        for block in header.blocks:
            m = block.pattern.search(text)
            if not m:
                continue
            for gi, slot in enumerate(block.slots, 1):
                pos = m.start(gi)
                prev = seq[pos - 1] if pos > 0 and seq[pos - 1][0] != "\n" else None
                nxt = seq[pos] if pos < len(seq) and seq[pos][0] != "\n" else None
                if prev is not None and nxt is not None and prev[1] == nxt[1]:
                    region = (prev[1], prev[3], nxt[2])
                elif prev is None and nxt is not None:  # a blank opening its line
                    room = (slot.width or 20) * 12.0 + 24
                    region = (nxt[1], max(left, nxt[2] - room), nxt[2])
                elif nxt is None and prev is not None:  # a blank closing its line
                    room = (slot.width or 20) * 12.0 + 24
                    region = (prev[1], prev[3], min(right, prev[3] + room))
                else:
                    continue
                if region[2] - region[1] >= 10:
                    out[slot.key] = region
        return out

    @cached_property
    def header(self):
        from .fields import HeaderLayout

        return HeaderLayout(self.form, self.geometry(1), self.county_values)

    def raster(self, dpi: int, page: int = 1) -> Raster:
        """The blank rendered at ``dpi`` (memoised per process)."""
        key = dpi * 1000 + page
        cached = self._rasters.get(key)
        if cached is not None:
            return cached
        import cv2
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(self.pdf))
        try:
            gray = np.asarray(doc[page - 1].render(scale=dpi / 72.0, grayscale=True).to_pil().convert("L")).copy()
        finally:
            doc.close()
        dark = (gray < REF_DARK).astype(np.uint8)
        r = max(1, round(dpi / 100) + 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        ink = cv2.dilate(dark, kernel).astype(bool)
        raster = Raster(dpi, gray, ink)
        geo = self.geometry(page)
        for i, box in enumerate(geo.boxes):
            raster.boxes[i] = _drawn_square(gray, raster.px(box.rect))
        if len(self._rasters) > 6:
            self._rasters.clear()
        self._rasters[key] = raster
        return raster


def _drawn_square(gray: np.ndarray, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The square actually drawn inside a ☐ glyph's character box (px, exclusive right/bottom)."""
    x0, y0, x1, y1 = box
    part = gray[y0:y1, x0:x1] < REF_DARK
    ys, xs = np.nonzero(part)
    if len(xs) < 4:
        return box
    return x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1


def header_layout(setup: ReadSetup, form: FormSpec):
    """The header patterns of ``form`` alone: enough to read a text layer, no blank
    needed (so text-layer PDFs are read even where LibreOffice is not installed)."""
    from .fields import HeaderLayout

    key = ("header", form.id, form.version)
    layout = setup.cache.get(key)
    if layout is None:
        layout = setup.cache[key] = HeaderLayout(form, None, setup.county.placeholders(reference_year(setup.county)))
    return layout


def reference_for(setup: ReadSetup, form: FormSpec) -> Reference:
    """The reference of ``form`` (memoised on ``setup``)."""
    key = ("reference", form.id, form.version)
    ref = setup.cache.get(key)
    if ref is None:
        pdf = reference_pdf(setup, form)
        ref = setup.cache[key] = Reference(form, pdf, setup.county.placeholders(reference_year(setup.county)))
    return ref
