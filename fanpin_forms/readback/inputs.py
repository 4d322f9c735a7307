"""Returned paper in: files and folders → pages, one at a time, nothing rendered early.

PDFs (with or without a text layer) are opened with pdfium; images (PNG, JPEG,
TIFF, multi-page TIFF too) with Pillow. A file that cannot be read (corrupt,
encrypted, empty) becomes one :class:`FileFailure` and the other files go on.

A :class:`Page` renders its image only when someone asks for it: a PDF exported
from the DOCX is read from its text layer and never rasterised (that is what makes
text-layer PDFs fast), and a 500-page PDF never sits in memory whole. Scanned PDF
pages are rendered at the resolution of the scan they carry (capped), not at a
fixed one, so a 150 dpi scan is not blown up and a 300 dpi one not blurred.

Page kinds:

* ``text``: a real text layer and no page-sized picture (exported from the DOCX);
* ``searchable``: a page-sized scan with an OCR text layer on top (some copiers);
* ``image``: a scan without text, or an image file.

Before anything is decoded or rendered it is checked against the caps in
:mod:`fanpin_forms.util.limits`: file size and page (frame) count per file, a PDF page's
size in points × dpi (the dpi is lowered to fit the pixel cap, the page refused if
even the lowest useful dpi does not fit), an image's width × height from its
header and the pixel size of every picture placed on a PDF page. A refused file
or page is a :class:`FileFailure` with its reason, like any unreadable one.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from ..util import limits
from ..errors import Code, Problem
from ..util.limits import human_bytes
from .thresholds import DEFAULT_DPI, MAX_DPI, MIN_DPI, MIN_TEXT_CHARS, SCAN_AREA  # noqa: F401

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}
PDF_SUFFIXES = {".pdf"}
#: Pillow warns above this and refuses twice this at open ("decompression bomb"); every frame
#: is also checked against it before it is decoded (Pillow checks only the first, at open)
Image.MAX_IMAGE_PIXELS = limits.IMAGE_MAX_PIXELS


class Page:
    """One page of returned paper. ``image`` is rendered (or decoded) on first use."""

    def __init__(self, source: str, number: int, image: Image.Image | None = None, dpi: float = DEFAULT_DPI,
                 text_layer: bool = False, pdf_path: Path | None = None, meta: dict | None = None, *,
                 kind: str | None = None, loader: Callable[[], Image.Image] | None = None,
                 text_loader: Callable[[], str] | None = None,
                 qr_loader: Callable[[], list[Image.Image]] | None = None, size: tuple[float, float] | None = None):
        self.source = source
        self.number = number
        self._image = image
        self._loader = loader
        self.dpi = float(dpi)
        self.text_layer = text_layer
        self.pdf_path = pdf_path
        self.meta = meta or {}
        self.kind = kind or ("text" if text_layer else "image")
        self._text_loader = text_loader
        self._text: str | None = None
        self._qr_loader = qr_loader
        self.size = size  # page size in points (PDF pages)

    @property
    def image(self) -> Image.Image:
        """The page as an RGB image, upright as scanned (not yet rotated)."""
        if self._image is None:
            if self._loader is None:
                raise ValueError("page has no image")
            self._image = self._loader()
        return self._image

    @property
    def rendered(self) -> bool:
        return self._image is not None

    def text(self) -> str:
        """The page's text layer in reading order ("" for images and scans without text)."""
        if self._text is None:
            self._text = self._text_loader() if self._text_loader and self.text_layer else ""
        return self._text

    def embedded_images(self) -> list[Image.Image]:
        """Small pictures placed on a text page (the QR code is one of them)."""
        return self._qr_loader() if self._qr_loader else []

    @property
    def where(self) -> str:
        return f"{self.source} 第{self.number}页"

    def __repr__(self) -> str:
        return f"Page({self.source!r}, {self.number}, kind={self.kind!r}, dpi={self.dpi:.0f})"


@dataclass
class FileFailure:
    """A whole file (or one page of it) that could not be read; the run goes on without it."""

    source: str
    problem: Problem
    page: int | None = None


def collect_files(inputs: Iterable[Path]) -> tuple[list[Path], list[FileFailure]]:
    """Expand folders (recursively, sorted) to the files we can read."""
    files: list[Path] = []
    failures: list[FileFailure] = []
    readable = IMAGE_SUFFIXES | PDF_SUFFIXES
    for path in inputs:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*")
                                if p.is_file() and p.suffix.lower() in readable and not p.name.startswith(".")))
        elif not path.exists():
            failures.append(FileFailure(str(path), Problem(Code.READ_FILE_MISSING, {"path": str(path)})))
        elif path.suffix.lower() not in readable:
            failures.append(FileFailure(str(path), Problem(Code.READ_FILE_TYPE, {"suffix": path.suffix or "（无）"})))
        else:
            files.append(path)
    return files, failures


# --- open files, kept open per process -----------------------------------------------------

_OPEN: OrderedDict[tuple[str, float], object] = OrderedDict()
_KEEP_OPEN = 2


def _open_pdf(path: Path):
    """A pdfium document, cached (a worker reads many pages of the same file)."""
    import pypdfium2 as pdfium

    key = (str(path), path.stat().st_mtime)
    doc = _OPEN.get(key)
    if doc is not None:
        _OPEN.move_to_end(key)
        return doc
    doc = pdfium.PdfDocument(str(path))
    _OPEN[key] = doc
    while len(_OPEN) > _KEEP_OPEN:
        _, old = _OPEN.popitem(last=False)
        try:
            old.close()
        except Exception:  # noqa: BLE001 - closing a stale handle must never fail a run
            pass
    return doc


def close_all() -> None:
    while _OPEN:
        _, doc = _OPEN.popitem()
        try:
            doc.close()
        except Exception:  # noqa: BLE001
            pass


def _pdf_failure(source: str, exc: Exception) -> FileFailure:
    text = str(exc).lower()
    if "password" in text:
        return FileFailure(source, Problem(Code.READ_PDF_ENCRYPTED, {}))
    return FileFailure(source, Problem(Code.READ_FILE_UNREADABLE, {"why": "PDF 文件已损坏或不完整"}))


def page_count(path: Path) -> int | FileFailure:
    """How many pages (frames) a file has, or why it cannot be read. Opens, renders nothing."""
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return FileFailure(source, Problem(Code.READ_FILE_UNREADABLE, {"why": exc.strerror or str(exc)}))
    if size == 0:
        return FileFailure(source, Problem(Code.READ_FILE_EMPTY, {}))
    pdf = path.suffix.lower() in PDF_SUFFIXES
    kind, cap = ("PDF 文件", limits.SCAN_PDF_MAX_BYTES) if pdf else ("图片文件", limits.SCAN_IMAGE_MAX_BYTES)
    if size > cap:
        return FileFailure(source, Problem(Code.READ_FILE_TOO_LARGE,
                                           {"size": human_bytes(size), "kind": kind, "max": human_bytes(cap)}))
    if pdf:
        try:
            n = len(_open_pdf(path))
        except Exception as exc:  # pdfium raises PdfiumError; anything else is a broken file too
            return _pdf_failure(source, exc)
        if n == 0:
            return FileFailure(source, Problem(Code.READ_FILE_UNREADABLE, {"why": "PDF 文件中没有任何页面"}))
    else:
        try:
            with _open_image(path) as img:
                n = _frames(img)
        except Image.DecompressionBombError as exc:
            return FileFailure(source, _image_too_large(None, exc))
        except Exception as exc:  # Pillow raises many types for broken files
            return FileFailure(source, Problem(Code.READ_FILE_UNREADABLE,
                                               {"why": f"无法识别的图片（{type(exc).__name__}）"}))
    if n > limits.SCAN_MAX_PAGES_PER_FILE:
        return FileFailure(source, Problem(Code.READ_TOO_MANY_PAGES, {"max": limits.SCAN_MAX_PAGES_PER_FILE}))
    return n


def _open_image(path: Path) -> Image.Image:
    """Pillow's open (header only), its size warning silenced: the size is checked by us."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path)


def _frames(img: Image.Image) -> int:
    """Frames of a (multi-page) image, counted only up to one past the cap."""
    if not getattr(img, "is_animated", False):
        return 1
    for n in range(1, limits.SCAN_MAX_PAGES_PER_FILE + 1):
        try:
            img.seek(n)
        except EOFError:
            return n
    return limits.SCAN_MAX_PAGES_PER_FILE + 1


def _image_too_large(size: tuple[int, int] | None, refusal: Exception | None = None) -> Problem:
    """An image over the pixel cap, by its ``size``, or by Pillow's ``refusal`` at open (which
    gives only the pixel count: "Image size (400000000 pixels) exceeds limit of ...")."""
    if size is not None:
        shown = f"{size[0]}×{size[1]} 像素，{size[0] * size[1] // 10_000} 万像素"
    else:
        m = re.search(r"\((\d+) pixels\)", str(refusal))
        shown = f"{int(m.group(1)) // 10_000} 万像素" if m else f"超过 {2 * limits.IMAGE_MAX_PIXELS // 10_000} 万像素"
    return Problem(Code.READ_IMAGE_TOO_LARGE, {"size": shown, "max": limits.IMAGE_MAX_PIXELS // 10_000})


def load_page(path: Path, number: int, *, source: str | None = None) -> Page | FileFailure:
    """Page ``number`` (1-based) of a file, lazily rendered."""
    source = source or str(path)
    if path.suffix.lower() in PDF_SUFFIXES:
        return _pdf_page(path, source, number)
    return _image_page(path, source, number)


def iter_pages(path: Path, *, dpi: int | None = None) -> Iterator[Page | FileFailure]:
    """Every page of one file; a FileFailure (and nothing more) if it cannot be read.

    A failure on a later page of a PDF is reported for that page and the rest go on."""
    n = page_count(path)
    if isinstance(n, FileFailure):
        yield n
        return
    for i in range(1, n + 1):
        page = load_page(path, i)
        if dpi and isinstance(page, Page) and page.kind != "image":
            page.dpi = float(dpi)
        yield page


def _pdf_page(path: Path, source: str, number: int) -> Page | FileFailure:
    import pypdfium2.raw as pdfium_c

    try:
        doc = _open_pdf(path)
        page = doc[number - 1]
        width, height = page.get_size()
        textpage = page.get_textpage()
        chars = textpage.count_chars()
        images = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
    except Exception as exc:
        return FileFailure(source, Problem(Code.READ_FILE_UNREADABLE, {"why": _short(exc)}), page=number)

    big, small = None, []
    for obj in images:
        try:
            left, bottom, right, top = obj.get_bounds()
            px_w, px_h = obj.get_px_size()
        except Exception:  # noqa: BLE001 - an odd object is simply not a scan
            continue
        if px_w * px_h > limits.IMAGE_MAX_PIXELS:  # decoding it (to render or to read a QR) would be the bomb
            return FileFailure(source, _image_too_large((px_w, px_h)), page=number)
        area = max(0.0, right - left) * max(0.0, top - bottom)
        if area >= SCAN_AREA * width * height:
            if big is None or area > big[1]:
                big = (obj, area, right - left)
        else:
            small.append(obj)
    dpi = float(DEFAULT_DPI)
    one_bit = False  # a 1-bit scan is rendered without smoothing: it stays 1-bit (see images.scan_kind)
    if big is not None:
        try:
            px_w, _ = big[0].get_px_size()
            native = px_w / (big[2] / 72.0) if big[2] > 0 else DEFAULT_DPI
            dpi = float(min(MAX_DPI, max(MIN_DPI, round(native))))
        except Exception:  # noqa: BLE001
            pass
        try:
            one_bit = big[0].get_metadata().bits_per_pixel == 1
        except Exception:  # noqa: BLE001 - no metadata: rendered as any scan
            pass
    fit = _fitting_dpi(width, height)
    if fit < limits.PAGE_MIN_DPI:
        return FileFailure(source, _page_too_large(width, height), page=number)
    dpi = min(dpi, fit)
    text_layer = chars >= MIN_TEXT_CHARS
    kind = "image" if not text_layer else ("searchable" if big is not None else "text")
    has_pictures = bool(small) if kind == "text" else False

    def render() -> Image.Image:
        return page.render(scale=dpi / 72.0, no_smoothimage=one_bit).to_pil().convert("RGB")

    def text() -> str:
        return textpage.get_text_range()

    def pictures() -> list[Image.Image]:
        out = []
        for obj in small:
            try:
                out.append(obj.get_bitmap(render=False).to_pil())
            except Exception:  # noqa: BLE001 - an undecodable picture is just not our QR
                continue
        return out

    return Page(source, number, None, dpi, text_layer, path if text_layer else None,
                {"pictures": len(small), "has_pictures": has_pictures}, kind=kind, loader=render, text_loader=text,
                qr_loader=pictures, size=(float(width), float(height)))


def _fitting_dpi(width_pt: float, height_pt: float) -> float:
    """The highest dpi at which a page of this size (points) stays within the pixel cap."""
    area_in = max(width_pt, 1.0) * max(height_pt, 1.0) / (72.0 * 72.0)
    return math.floor(math.sqrt(limits.PAGE_MAX_PIXELS / area_in))


def _page_too_large(width_pt: float, height_pt: float) -> Problem:
    pixels = width_pt * height_pt * (limits.PAGE_MIN_DPI / 72.0) ** 2
    return Problem(Code.READ_PAGE_TOO_LARGE, {
        "width": round(width_pt / 72 * 25.4), "height": round(height_pt / 72 * 25.4), "dpi": limits.PAGE_MIN_DPI,
        "pixels": round(pixels / 10_000), "max": limits.PAGE_MAX_PIXELS // 10_000})


def _image_page(path: Path, source: str, number: int) -> Page | FileFailure:
    try:
        img = _open_image(path)
        if number > 1:
            img.seek(number - 1)
        dpi = img.info.get("dpi", (DEFAULT_DPI, DEFAULT_DPI))[0] or DEFAULT_DPI
    except Image.DecompressionBombError as exc:
        return FileFailure(source, _image_too_large(None, exc), page=number)
    except Exception as exc:
        return FileFailure(source, Problem(Code.READ_FILE_UNREADABLE, {"why": f"无法识别的图片（{type(exc).__name__}）"}),
                           page=number)
    if img.width * img.height > limits.IMAGE_MAX_PIXELS:
        size = img.size
        img.close()
        return FileFailure(source, _image_too_large(size), page=number)

    def load() -> Image.Image:
        try:
            img.load()
            return ImageOps.exif_transpose(img.convert("RGB"))
        finally:
            img.close()

    return Page(source, number, None, float(dpi), kind="image", loader=load)


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:197] + "…"

