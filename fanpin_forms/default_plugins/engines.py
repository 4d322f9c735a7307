"""The core's OCR engine and PDF converter (hooks ``ocr_engine`` and ``pdf_converter``).

Both hooks take the first answer: a county plugin that returns its own engine or
converter is asked first (``trylast`` keeps these last)."""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl(trylast=True)
def ocr_engine():
    """RapidOCR with its bundled PP-OCR models (created once per process)."""
    from ..readback.ocr import rapidocr_engine

    return rapidocr_engine()


@hookimpl(trylast=True)
def pdf_converter():
    """LibreOffice headless, with a private profile per call and a timeout."""
    from ..office.libreoffice import docx_to_pdf

    return docx_to_pdf
