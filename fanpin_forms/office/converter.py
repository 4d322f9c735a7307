"""DOCX → PDF, through the converter of the ``pdf_converter`` hook.

The built-in plugin returns LibreOffice (:func:`.libreoffice.docx_to_pdf`); a plugin may
return another callable ``convert(docx_paths, out_dir, *, timeout=None) -> [pdf paths]``
that writes ``<stem>.pdf`` for each input into ``out_dir``, all or nothing. The
composition root hands the hook in with :func:`use_provider`; without one (a program that
never built the App) LibreOffice is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

_PROVIDER: Callable[[], Callable | None] | None = None


def use_provider(provider: Callable[[], Callable | None] | None) -> None:
    """Take the converter from ``provider()`` (the ``pdf_converter`` hook) from now on."""
    global _PROVIDER
    _PROVIDER = provider


def converter() -> Callable:
    found = _PROVIDER() if _PROVIDER is not None else None
    if found is not None:
        return found
    from .libreoffice import docx_to_pdf

    return docx_to_pdf


def docx_to_pdf(inputs: Sequence[Path], outdir: Path, *, timeout: float | None = None) -> list[Path]:
    """Convert ``inputs`` to PDFs in ``outdir`` with the chosen converter (see the module)."""
    return list(converter()(list(inputs), outdir, timeout=timeout))


__all__ = ["converter", "docx_to_pdf", "use_provider"]
