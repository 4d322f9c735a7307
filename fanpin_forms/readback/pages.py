"""Returned paper in: files and folders → pages, one at a time.

PDFs (with or without a text layer) are opened with pdfium; images (PNG, JPEG,
TIFF, multi-page TIFF too) with Pillow. A file that cannot be read (corrupt,
encrypted, empty) becomes one :class:`FileFailure` and the other files go on.
Pages are produced lazily, so a 500-page PDF never sits in memory whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from ..errors import Code, Problem

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}
PDF_SUFFIXES = {".pdf"}
#: a PDF page with at least this many characters of text is read from its text layer
MIN_TEXT_CHARS = 40
DEFAULT_DPI = 200


@dataclass
class Page:
    """One page of returned paper."""

    source: str  # the file, as given by the user
    number: int  # 1-based page (or frame) within the file
    image: Image.Image  # RGB, upright as scanned (not yet rotated)
    dpi: float
    text_layer: bool = False  # the PDF page carries real text (exported from the DOCX, or a searchable scan)
    pdf_path: Path | None = None  # for text-layer pages: where pdfplumber can read it
    meta: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.source} 第{self.number}页"


@dataclass
class FileFailure:
    """A whole file that could not be read; the run goes on without it."""

    source: str
    problem: Problem


def collect_files(inputs: Iterable[Path]) -> tuple[list[Path], list[FileFailure]]:
    """Expand folders (recursively, sorted) to the files we can read."""
    files: list[Path] = []
    failures: list[FileFailure] = []
    for path in inputs:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | PDF_SUFFIXES))
        elif not path.exists():
            failures.append(FileFailure(str(path), Problem(Code.READ_FILE_MISSING, {"path": str(path)})))
        elif path.suffix.lower() not in IMAGE_SUFFIXES | PDF_SUFFIXES:
            failures.append(FileFailure(str(path), Problem(Code.READ_FILE_TYPE, {"suffix": path.suffix or "（无）"})))
        else:
            files.append(path)
    return files, failures


def iter_pages(path: Path, *, dpi: int = DEFAULT_DPI) -> Iterator[Page | FileFailure]:
    """Every page of one file; a FileFailure (and nothing more) if it cannot be read.

    A failure on a later page of a PDF is reported for that page and the rest go on."""
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        yield FileFailure(source, Problem(Code.READ_FILE_UNREADABLE, {"why": exc.strerror or str(exc)}))
        return
    if size == 0:
        yield FileFailure(source, Problem(Code.READ_FILE_EMPTY, {}))
        return
    if path.suffix.lower() in PDF_SUFFIXES:
        yield from _pdf_pages(path, source, dpi)
    else:
        yield from _image_pages(path, source)


def _pdf_pages(path: Path, source: str, dpi: int) -> Iterator[Page | FileFailure]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        code = Code.READ_PDF_ENCRYPTED if "password" in text else Code.READ_FILE_UNREADABLE
        yield FileFailure(source, Problem(code, {"why": "PDF 文件已损坏或不完整"}))
        return
    try:
        for i in range(len(pdf)):
            try:
                page = pdf[i]
                textpage = page.get_textpage()
                chars = textpage.count_chars()
                image = page.render(scale=dpi / 72).to_pil().convert("RGB")
                yield Page(source, i + 1, image, dpi, text_layer=chars >= MIN_TEXT_CHARS,
                           pdf_path=path if chars >= MIN_TEXT_CHARS else None)
            except pdfium.PdfiumError as exc:
                yield FileFailure(f"{source} 第{i + 1}页", Problem(Code.READ_FILE_UNREADABLE, {"why": str(exc)}))
    finally:
        pdf.close()


def _image_pages(path: Path, source: str) -> Iterator[Page | FileFailure]:
    try:
        img = Image.open(path)
        img.load()
    except Exception as exc:  # Pillow raises many types for broken files
        yield FileFailure(source, Problem(Code.READ_FILE_UNREADABLE, {"why": f"无法识别的图片（{type(exc).__name__}）"}))
        return
    frames = getattr(img, "n_frames", 1)
    for i in range(frames):
        try:
            img.seek(i)
            frame = ImageOps.exif_transpose(img.convert("RGB"))
        except Exception as exc:
            yield FileFailure(f"{source} 第{i + 1}页", Problem(Code.READ_FILE_UNREADABLE, {"why": type(exc).__name__}))
            continue
        dpi = img.info.get("dpi", (DEFAULT_DPI, DEFAULT_DPI))[0] or DEFAULT_DPI
        yield Page(source, i + 1, frame, float(dpi))
