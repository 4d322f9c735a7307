"""Printing invented households' forms through the product, for :mod:`tests.papersim`.

Nothing here imports :mod:`fanpin_forms.readback`: the paper simulator must not learn where
people write from the reader. Forms are printed the way ``fanpin fill --merge`` and
``fanpin blank -o x.pdf`` print them (``record_context`` + ``merged_pdf``: the DOCX template
and headless LibreOffice)."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fanpin_forms.app import App
from fanpin_forms.forms.model import FormSpec
from fanpin_forms.intake.records import Record
from fanpin_forms.render.context import record_context, record_ident
from fanpin_forms.testing.households import households as invented_households
from fanpin_forms.render.fill import compile_for
from fanpin_forms.render.pdfout import merged_pdf

YEAR = 2022  # baseline year printed on the forms
SERIAL_DAY = "20221129"  # the day in the serial of blank forms

def households(n: int, seed: int = 0, *, prefix: str = "PAP") -> list[dict]:
    """``n`` invented households as a clerk's rows (the shipped generator, with this simulator's prefix)."""
    return invented_households(n, seed, prefix=prefix)


def load_records(app: App, form_id: str, rows: list[dict]) -> list[Record]:
    """Rows → real records through the product's loader (fails on any rejected row)."""
    with tempfile.TemporaryDirectory(prefix="papersim-rows-") as tmp:
        path = Path(tmp) / f"{form_id}_rows.json"
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        result = app.load_and_check(app.form(form_id), path)
    if result.errors:
        raise ValueError(f"invented rows rejected: {[str(p) for p in result.errors[:5]]}")
    return result.records


def forms_for(app: App, n: int, seed: int, *, blank_share: float = 0.5) -> list[tuple[str, object]]:
    """``n`` forms over the 3 annexes, about ``blank_share`` of them blank (an int = that many blanks)."""
    per = [n // 3 + (1 if i < n % 3 else 0) for i in range(3)]
    rows = households(sum(per), seed=seed)
    out, at = [], 0
    for form_id, k in zip(("annex1", "annex2", "annex3"), per):
        blank = int(round(k * blank_share))
        filled = k - blank
        if filled:
            out.append((form_id, load_records(app, form_id, rows[at:at + filled])))
            at += filled
        if blank:
            out.append((form_id, blank))
    return out


@dataclass
class Printed:
    """One printed form page, before anyone writes on it."""

    form: FormSpec
    record: Record | None
    ident: str  # "C:<case id>", "S:<serial>" or "R:<row>"
    pdf: Path
    page: int  # 1-based


_PDF_CACHE: dict[str, bytes] = {}


def print_forms(app: App, forms: Sequence[tuple[str, Sequence[Record] | int]], workdir: Path, *,
                year: int = YEAR) -> list[Printed]:
    """Print every form through ``merged_pdf``, one PDF per form type (LibreOffice output is
    cached in memory by content, so a second run of a seed costs no LibreOffice time)."""
    by_form: dict[str, list[tuple[Record | None, str, dict]]] = {}
    serials: dict[str, int] = {}
    for form_id, what in forms:
        form = app.form(form_id)
        items = by_form.setdefault(form_id, [])
        if isinstance(what, int):
            for _ in range(what):
                serials[form_id] = serials.get(form_id, 0) + 1
                ident = f"S:{form_id}-{SERIAL_DAY}-{serials[form_id]}"
                items.append((None, ident, record_context(form, None, app.county, year, ident, types=app.field_types)))
        else:
            for i, record in enumerate(what):
                ident = record_ident(record, i + 1)
                items.append((record, ident, record_context(form, record, app.county, year, ident,
                                                           types=app.field_types)))
    out: list[Printed] = []
    for form_id, items in by_form.items():
        if not items:
            continue
        form = app.form(form_id)
        contexts = [c for _, _, c in items]
        key = hashlib.sha256(json.dumps([form_id, form.version, contexts], ensure_ascii=False, sort_keys=True,
                                        default=str).encode()).hexdigest()
        pdf = Path(workdir) / f"papersim-{form_id}-{key[:12]}.pdf"
        if key in _PDF_CACHE:
            pdf.write_bytes(_PDF_CACHE[key])
        else:
            merged_pdf(compile_for(form, None), contexts, pdf, label=form_id)
            _PDF_CACHE[key] = pdf.read_bytes()
        out.extend(Printed(form, record, ident, pdf, i + 1) for i, (record, ident, _) in enumerate(items))
    return out
