"""PDFs of filled forms, through :mod:`fanpin_forms.office.libreoffice` (headless LibreOffice).

Measured on 2 cores, LibreOffice 7.4, one-page annex 2 forms (ms per form):

==========================================================  ======  ======
approach                                                     50      200
==========================================================  ======  ======
one DOCX per form, one soffice call                          165     203
one DOCX per form, two soffice calls in parallel              96     154
**all forms in ONE DOCX** (page breaks), one soffice call     43      28
all forms in two merged DOCX, two soffice calls in parallel   —       19
==========================================================  ======  ======

So a merged PDF (``--merge``, ``fanpin blank … -o x.pdf``) is made from merged DOCX
files, one per worker, converted in parallel and concatenated. Per-form PDFs
(``--pdf``) are converted from the per-form DOCX files in parallel soffice calls:
splitting the merged PDF instead would be faster but every single page would carry
the font subsets of the whole batch (1.4 MB instead of 0.1 MB a page).

Every form must come out as exactly one page (each page has its own QR code); a
form that spills over is reported with RENDER_PDF_PAGES.

The merged DOCX parts and their PDFs hold every household's full record, so they are
made in a private working folder in the system's temp folder (mode 0700, only this
user can read it), not beside the print PDF, where anyone who gets the USB stick or
the shared folder would find them if the run were killed. Only the finished PDF is
written beside it (atomically). The folder carries our pid; :func:`sweep_leftovers`
removes the ones whose owner was killed (and hidden ``.fanpin-merge-*`` folders that
older versions left beside the output). An interrupt stops every soffice started
here before the working folder is removed.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import Code, Problem, RenderError
from ..util.atomic import check_writable, private_dir, remove, stale_entries, sweep_private, write_atomic
from .compiled import CompiledTemplate
from .merge import render_merged

#: forms per merged DOCX below which one soffice call is used
MERGE_CHUNK_MIN = 40
MERGE_PART_MAX = 500  # pages per LibreOffice run: bounds its memory on a 10,000-form batch
MERGE_KIND = "merge"
_LEGACY_MERGE = re.compile(r"\.fanpin-merge-[A-Za-z0-9_]{8}")
#: how long an interrupted batch waits for its converter threads to end
STOP_SECONDS = 15.0


def _chunks(items: Sequence, n: int) -> list[list]:
    size = math.ceil(len(items) / n)
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _parallel(jobs: list) -> list:
    """Run callables in threads (each starts its own soffice); re-raise the first error.

    Interrupted (Ctrl-C, or a signal the CLI turns into an exception: only the main
    thread sees it), every soffice of this process is killed until the threads have
    ended, so none of them outlives the working folder they write to. The wait is on
    events, not ``Thread.join``: an interrupted join marks a thread that is still
    running as finished (CPython 3.11, bpo-45274)."""
    from ..office.libreoffice import kill_running

    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []
    done = [threading.Event() for _ in jobs]

    def run(i, job):
        try:
            results[i] = job()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
        finally:
            done[i].set()

    for i, job in enumerate(jobs):
        threading.Thread(target=run, args=(i, job), daemon=True).start()
    try:
        for event in done:
            event.wait()
    except BaseException:
        deadline = time.monotonic() + STOP_SECONDS
        while not all(e.is_set() for e in done) and time.monotonic() < deadline:
            kill_running()  # again each round: a thread may have started one meanwhile
            for event in done:
                event.wait(0.1)
        raise
    if errors:
        raise errors[0]
    return results


def _workers(n_forms: int, per_worker_min: int, workers: int | None) -> int:
    cpus = workers or os.cpu_count() or 1
    return max(1, min(cpus, n_forms // per_worker_min or 1))


def pdfs_beside(docx_paths: Sequence[Path], *, workers: int | None = None, labels: Sequence[str] | None = None
                ) -> list[Path]:
    """A PDF next to each DOCX (same name, .pdf); checks each has exactly one page."""
    from ..office.converter import docx_to_pdf  # the pdf_converter hook's (LibreOffice by default)
    from ..office.libreoffice import page_count

    paths = [Path(p) for p in docx_paths]
    if not paths:
        return []
    by_folder: dict[Path, list[Path]] = {}
    for p in paths:
        by_folder.setdefault(p.parent, []).append(p)
    jobs = []
    for folder, group in by_folder.items():
        n = _workers(len(group), 8, workers)
        for chunk in _chunks(group, n):
            jobs.append(lambda chunk=chunk, folder=folder: docx_to_pdf(chunk, folder))
    _parallel(jobs)
    pdfs = [p.with_suffix(".pdf") for p in paths]
    bad = [(i, page_count(pdf)) for i, pdf in enumerate(pdfs)]
    bad = [(i, n) for i, n in bad if n != 1]
    if bad:
        raise RenderError([Problem(Code.RENDER_PDF_PAGES, {"form": (labels[i] if labels else pdfs[i].name),
                                                           "index": i + 1, "pages": n}) for i, n in bad])
    return pdfs


def merged_pdf(compiled: CompiledTemplate, contexts: Sequence[dict[str, Any]], out: Path, *,
               workers: int | None = None, label: str = "") -> Path:
    """ONE PDF with every context as one page, in order (written atomically)."""
    from ..office.converter import docx_to_pdf  # the pdf_converter hook's (LibreOffice by default)
    from ..office.libreoffice import merge_pdfs, page_count

    out = Path(out)
    if not contexts:
        raise ValueError("no forms")
    if not compiled.can_merge:
        return _merged_pdf_slow(compiled, contexts, out, workers=workers, label=label)
    check_writable(out.parent)  # now, not after minutes of converting
    sweep_leftovers(out.parent)
    work = private_dir(MERGE_KIND)
    cpus = workers or os.cpu_count() or 1
    parts = max(_workers(len(contexts), MERGE_CHUNK_MIN, workers), math.ceil(len(contexts) / MERGE_PART_MAX))
    chunks = _chunks(contexts, parts)

    def convert(k: int, chunk: list) -> Path:
        doc = work / f"part{k:03d}.docx"
        write_atomic(doc, render_merged(compiled, chunk))
        pdf = docx_to_pdf([doc], work, timeout=60 + 0.5 * len(chunk))[0]
        doc.unlink()
        if page_count(pdf) != len(chunk):
            _report_spills(pdf, chunk, label)
        return pdf

    try:
        pdfs: list[Path] = []
        for wave in range(0, len(chunks), cpus):  # one soffice per core at a time
            pdfs += _parallel([lambda k=k: convert(k, chunks[k]) for k in range(wave, min(wave + cpus, len(chunks)))])
        merge_pdfs(pdfs, out)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _merged_pdf_slow(compiled, contexts, out: Path, *, workers, label) -> Path:
    """Templates with a templated header: one DOCX per form, then concatenate."""
    from ..office.libreoffice import merge_pdfs

    check_writable(out.parent)
    sweep_leftovers(out.parent)
    work = private_dir(MERGE_KIND)
    try:
        docs = []
        for i, ctx in enumerate(contexts):
            doc = work / f"f{i:05d}.docx"
            compiled.render_to(doc, ctx)
            docs.append(doc)
        pdfs = pdfs_beside(docs, workers=workers, labels=[c.get("ident_text", "") for c in contexts])
        merge_pdfs(pdfs, out)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sweep_leftovers(beside: Path | None = None) -> None:
    """Remove merge working folders whose owner is gone; with ``beside`` (the folder of
    a print PDF) also the hidden ``.fanpin-merge-*`` folders older versions put there."""
    sweep_private(MERGE_KIND)
    if beside is not None:
        for entry in stale_entries(beside, _LEGACY_MERGE):
            if entry.is_dir():
                remove(entry)


def _report_spills(pdf: Path, contexts: Sequence[dict[str, Any]], label: str) -> None:
    """Find which forms took more than one page (by the page id printed on each first page)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        texts = []
        for i in range(len(doc)):
            page = doc[i]
            tp = page.get_textpage()
            texts.append(tp.get_text_range())
            tp.close()
            page.close()
    finally:
        doc.close()
    firsts = []
    for text in texts:
        compact = re.sub(r"\s+", "", text)
        firsts.append(next((i for i, c in enumerate(contexts)
                            if re.sub(r"\s+", "", c.get("ident_text", "")) in compact), None))
    problems = []
    for i, ctx in enumerate(contexts):
        start = firsts.index(i) if i in firsts else None
        if start is None:
            continue
        end = start + 1
        while end < len(firsts) and firsts[end] is None:
            end += 1
        if end - start != 1:
            problems.append(Problem(Code.RENDER_PDF_PAGES, {"form": ctx.get("ident_text", label), "index": i + 1,
                                                            "pages": end - start}))
    if not problems:
        problems.append(Problem(Code.RENDER_PDF_PAGES, {"form": label, "index": "?", "pages": len(texts)}))
    raise RenderError(problems)
