"""Deterministic DOCX bytes: fixed timestamps and entry order, so ``templates/*.docx``
only change in git when the spec or the builder changes."""

from __future__ import annotations

import io
import zipfile

def normalize_zip(data: bytes) -> bytes:
    """Rewrite a DOCX with fixed timestamps and a fixed entry order ([Content_Types].xml first)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    names = src.namelist()
    names.sort(key=lambda n: (n != "[Content_Types].xml", n != "_rels/.rels", n))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name.endswith((".png", ".jpeg", ".jpg")) else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(name))
    return out.getvalue()


def document_xml(docx: bytes) -> str:
    """``word/document.xml`` of a DOCX, as text (what the drift test compares)."""
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return z.read("word/document.xml").decode("utf-8")
