"""``fanpin parse``: returned forms (PDFs, images, folders of them) → one record per form.

Every input page is accounted for: ``pages = recognised + foreign + duplicates +
failed`` (a file that cannot be opened at all counts as one failed page). Pages are
read in parallel (one process per core by default; each worker keeps its own OCR
engine and open files), then put together in the main process:

* pages of one form are joined by (form, version, ident) and ordered by page number,
  whatever order they were scanned in (pages whose QR code is not verified by this
  installation's key are joined only among themselves, so a forged page can never
  replace or join a real one);
* a page seen twice is a duplicate: the copy that carries more ink wins (signatures,
  seals, thumbprints, dates and ticks read on a scan; a scan beats a born-digital
  PDF of the same page, which nobody can have signed), whatever the order; the
  other is named in the page list and the summary, and a review item says which
  was kept and why (and that the two disagree, when both carry ink and differ);
* pre-filled values are compared with the data file (``--data``) when given;
* every value that was not read with enough confidence becomes a review item with a
  stable id (R0001 …) and, with ``review_dir``, an image crop and ``review.html``.

Records come out in the input order of their first page.

The worker processes start as :mod:`fanpin_forms.util.parallel` decides (never a
plain fork once this process has loaded OpenCV or onnxruntime: their thread-pool
locks would never be released in the child), ignore Ctrl-C (the parent stops them),
and are kept for the next call. As with any ``multiprocessing`` code, a script that
calls :func:`parse_inputs` with more than one worker must do so under
``if __name__ == "__main__":``.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Code, DataError, FanpinError, Problem, ReadBackError
from ..privacy.masking import mask_value
from ..util.parallel import pool_context, start_pool, stopped_on_failure, worker_state
from .fields import same_value
from .pages import FileFailure, close_all, collect_files, load_page, page_count
from .scanpage import OCR_REVIEW_BELOW, PageReading, ReviewNote, StageReading, role_text

#: header values read by OCR with less confidence than this are not taken without review
FIELD_REVIEW_BELOW = OCR_REVIEW_BELOW
_METHOD_RANK = {"qr": 0, "text": 1, "title": 2}


@dataclass
class ParseResult:
    records: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    pages: list[dict] = field(default_factory=list)
    failures: list[Problem] = field(default_factory=list)
    review_html: Path | None = None

    @property
    def ok(self) -> bool:
        """No file or page failed (review items alone are not a failure)."""
        return not self.summary.get("failed")


# --- workers ---------------------------------------------------------------------------------

#: what a forkserver imports once for every read-back worker
PRELOAD = ("fanpin_forms.readback.reader", "fanpin_forms.app")


def _init_worker(county: str | None, threads: int | None, secret_file: str | None = None) -> None:
    if secret_file:
        from ..util.secret import SECRET_FILE_ENV

        os.environ[SECRET_FILE_ENV] = secret_file
    if threads:
        os.environ["FANPIN_FORMS_OCR_THREADS"] = str(threads)
        try:
            import cv2

            cv2.setNumThreads(threads)
        except ImportError:  # pragma: no cover
            pass
    from ..app import App

    worker_state()["app"] = App(county)


def _work(jobs: list[tuple[str, str, int]], crops: bool) -> list[dict]:
    app = worker_state()["app"]
    return [_read_one(app, Path(path), source, number, crops) for path, source, number in jobs]


def _read_one(app, path: Path, source: str, number: int, crops: bool) -> dict:
    from .reader import read_page

    page = load_page(path, number, source=source)
    if isinstance(page, FileFailure):
        return _failed(source, number, page.problem)
    return read_page(app, page, crops=crops)


_POOL: dict[str, Any] = {}


def _pool(county: str | None, workers: int) -> cf.ProcessPoolExecutor:
    """The worker pool, kept between runs of one process: a worker's OCR engine, blank
    forms and open files stay loaded (loading them takes a few seconds per worker)."""
    from ..util.secret import secret_path

    secret_file = str(secret_path())
    key = (county, workers, secret_file)
    pool = _POOL.get("pool")
    if pool is not None and _POOL.get("key") == key and not getattr(pool, "_broken", False):
        return pool
    shutdown_workers()
    pool = start_pool(workers, pool_context(PRELOAD), _init_worker, (county, 1, secret_file))
    if not _POOL.get("atexit"):
        import atexit

        atexit.register(shutdown_workers)
        _POOL["atexit"] = True
    _POOL.update(key=key, pool=pool)
    return pool


def shutdown_workers() -> None:
    """Stop the kept worker processes (they also stop when the program ends)."""
    pool = _POOL.pop("pool", None)
    _POOL.pop("key", None)
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunk_size(n: int, workers: int) -> int:
    return max(1, min(8, n // (workers * 4) or 1))


def _failed(source: str, page: int | None, problem: Problem) -> dict:
    return {"file": source, "page": page, "status": "failed", "form": None, "version": None, "ident": None,
            "page_no": 1, "pages": 1, "identified_by": None, "why": problem.message, "problem": problem,
            "reading": None}


def _run(app, jobs: list[tuple[str, str, int]], workers: int, crops: bool,
         progress: Callable[[int], None] | None) -> list[dict]:
    if workers <= 1 or len(jobs) <= 2:
        out = []
        for job in jobs:
            out.append(_read_one(app, Path(job[0]), job[1], job[2], crops))
            if progress:
                progress(1)
        return out
    size = _chunk_size(len(jobs), workers)
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    close_all()
    results: list[list[dict] | None] = [None] * len(chunks)
    pool = _pool(getattr(app.county, "code", None), workers)
    futures = {pool.submit(_work, chunk, crops): k for k, chunk in enumerate(chunks)}
    try:
        with stopped_on_failure(pool, keep=True):
            for fut in cf.as_completed(futures):
                k = futures[fut]
                try:
                    results[k] = fut.result()
                except cf.process.BrokenProcessPool:
                    raise
                except Exception as exc:  # noqa: BLE001 - a worker bug: fail those pages, not the run
                    problem = Problem(Code.READ_PAGE_FAILED, {"why": f"{type(exc).__name__}: {exc}"[:300]})
                    results[k] = [_failed(s, n, problem) for _, s, n in chunks[k]]
                if progress:
                    progress(len(chunks[k]))
    except cf.process.BrokenProcessPool:
        for f in futures:
            f.cancel()
        _POOL.pop("pool", None)
        problem = Problem(Code.READ_PAGE_FAILED, {"why": "读取进程异常退出（可能是内存不足；从脚本调用时，脚本须有 if __name__ == \"__main__\": 保护）"})
        for k, chunk in enumerate(chunks):
            if results[k] is None:
                results[k] = [_failed(s, n, problem) for _, s, n in chunk]
    except BaseException:  # an interrupt: stopped_on_failure has terminated the workers
        _POOL.pop("pool", None)
        _POOL.pop("key", None)
        raise
    return [r for chunk in results for r in (chunk or [])]


# --- the run ---------------------------------------------------------------------------------


def parse_inputs(app, paths: Sequence[Path], *, data: Path | None = None, review_dir: Path | None = None,
                 workers: int | None = None, progress: Callable[[int], None] | None = None,
                 sheet: str | None = None, on_start: Callable[[int], None] | None = None) -> ParseResult:
    """Read every page of ``paths`` (files or folders) into records.

    ``progress(n)`` is called as pages finish, with how many more are done (like a
    click progress bar's ``update``); ``on_start(total)`` once, with the number of
    pages about to be read. Raises only for problems with the request itself (no
    input file at all, an unwritable review folder); everything that goes wrong with
    a file or a page is in ``result.failures`` and ``result.pages``."""
    files, file_failures = collect_files([Path(p) for p in paths])
    if not files and not file_failures:
        raise ReadBackError.of(Code.READ_NO_INPUT)
    jobs: list[tuple[str, str, int]] = []
    order: list[tuple[str, Any]] = []  # ("job", index) or ("fail", FileFailure), in input order
    failed_early = {f.source: f for f in file_failures}
    for p in [Path(x) for x in paths]:
        if str(p) in failed_early:
            order.append(("fail", failed_early.pop(str(p))))
    for path in files:
        n = page_count(path)
        if isinstance(n, FileFailure):
            order.append(("fail", n))
            continue
        for i in range(1, n + 1):
            order.append(("job", len(jobs)))
            jobs.append((str(path), str(path), i))
    close_all()
    if on_start:
        on_start(len(jobs))
    n_workers = (os.cpu_count() or 1) if workers is None else max(1, int(workers))
    results = _run(app, jobs, n_workers, review_dir is not None, progress)
    merged: list[dict] = []
    for kind, item in order:
        if kind == "job":
            merged.append(results[item])
        else:
            merged.append(_failed(item.source, item.page, item.problem))
    result = assemble(app, merged, data=data, sheet=sheet, review_dir=review_dir)
    result.summary["files"] = len(files) + len(file_failures)
    return result


def assemble(app, results: list[dict], *, data: Path | None = None, sheet: str | None = None,
             review_dir: Path | None = None) -> ParseResult:
    """Page results (in input order) → records, page list, summary, review output."""
    out = ParseResult()
    groups: dict[tuple, dict] = {}
    kept: dict[tuple, int] = {}  # (form, version, ident, trust, page no) → index of the copy used
    entries: list[dict] = []
    dropped: list[dict] = []
    for idx, r in enumerate(results):
        status, why = r["status"], r["why"]
        where = _where(r)
        if status in ("recognised", "flagged"):
            if r["ident"] is not None:
                key = (r["form"], r["version"], r["ident"]) + (() if r.get("trusted", True) else ("unverified",))
                group = groups.setdefault(key, {"first": idx, "pages": {}, "notes": []})
                dup = key + (r["page_no"],)
                if dup in kept:
                    other = kept[dup]
                    win, lose, reason, note = _duplicate(results[other], r)
                    win_idx, lose_idx = (other, idx) if win is results[other] else (idx, other)
                    kept[dup] = win_idx
                    group["pages"][r["page_no"]] = win
                    group["notes"].append(note)
                    drop = {"file": lose["file"], "page": lose["page"], "kept_file": win["file"],
                            "kept_page": win["page"], "why": reason}
                    dropped.append(drop)
                    gone = Code.READ_DUPLICATE_PAGE.format(kept=_where(win), why=reason)
                    if lose_idx == idx:
                        status, why = "duplicate", gone
                    else:
                        entries[lose_idx].update(status="duplicate", why=gone)
                else:
                    kept[dup] = idx
                    group["pages"][r["page_no"]] = r
            else:
                groups[("title", idx)] = {"first": idx, "pages": {1: r}, "notes": []}
        elif status == "failed" and r.get("problem") is not None:
            out.failures.append(r["problem"].with_location(file=where))
        entries.append({"file": r["file"], "page": r["page"], "status": status, "form": r["form"],
                        "ident": r["ident"], "why": why})
    out.pages = entries
    checker = _DataCheck(app, data, sheet) if data is not None else None
    for key in sorted(groups, key=lambda k: groups[k]["first"]):
        out.records.append(_record(app, groups[key]["pages"], checker, groups[key]["notes"]))
    if checker is not None:
        out.failures.extend(checker.problems)
    _number_review(out.records, review_dir)
    if review_dir is not None:
        from .review import write_review

        out.review_html = write_review(app, out.records, review_dir)
    counts = {s: sum(1 for p in out.pages if p["status"] == s)
              for s in ("recognised", "flagged", "foreign", "duplicate", "failed")}
    out.summary = {"files": len({p["file"] for p in out.pages}), "pages": len(out.pages),
                   "forms": len(out.records), "recognised": counts["recognised"] + counts["flagged"],
                   "flagged": counts["flagged"], "foreign": counts["foreign"], "duplicates": counts["duplicate"],
                   "duplicate_pages": dropped, "failed": counts["failed"],
                   "review": sum(len(r["needs_review"]) for r in out.records)}
    return out


def _where(r: dict) -> str:
    return f"{r['file']} 第{r['page']}页" if r["page"] else r["file"]


# --- duplicates: the copy that carries more ink wins -----------------------------------------

#: confidence of the review item about a duplicate: same content, one copy has more ink, they disagree
DUP_SAME_CONFIDENCE, DUP_MORE_INK_CONFIDENCE, DUP_DISAGREE_CONFIDENCE = 0.9, 0.7, 0.2


def ink_marks(r: dict) -> int:
    """How many marks a person made on this page, as read: signatures, seals,
    thumbprints and dates present, boxes ticked in the stages. A born-digital page
    (``scan`` false) carries none, whatever its text says."""
    reading: PageReading | None = r.get("reading")
    if reading is None or not r.get("scan"):
        return 0
    n = 0
    for st in reading.stages.values():
        n += sum(bool(s["present"]) + bool(s["seal"]) + bool(s["thumbprint"]) for s in st.signers)
        n += st.date is not None
        n += sum(len(v) for v in st.codes.values())
    return n


def _marks(r: dict) -> dict[str, tuple]:
    """What was read, by kind, to tell whether two copies of a page say the same."""
    reading: PageReading = r["reading"]
    stages = sorted(reading.stages.items())
    return {
        "签字、盖章、手印": tuple((k, tuple((s["present"], s["seal"], s["thumbprint"]) for s in st.signers))
                          for k, st in stages),
        "日期": tuple((k, st.date) for k, st in stages),
        "勾选": tuple((k, tuple(sorted((f, tuple(sorted(v))) for f, v in st.codes.items())))
                    for k, st in stages) + (tuple(sorted((f, tuple(sorted(v))) for f, v in reading.codes.items())),),
    }


def _duplicate(first: dict, second: dict) -> tuple[dict, dict, str, ReviewNote]:
    """Of two copies of one page (``first`` read earlier): (kept, dropped, why, review note).
    More ink wins; then a scan over a born-digital page; then the earlier one."""
    rank_a = (ink_marks(first), bool(first.get("scan")))
    rank_b = (ink_marks(second), bool(second.get("scan")))
    win, lose = (second, first) if rank_b > rank_a else (first, second)
    ink_w, ink_l = ink_marks(win), ink_marks(lose)
    mw, ml = _marks(win), _marks(lose)
    diff = [kind for kind in mw if mw[kind] != ml[kind]]
    if ink_w > ink_l:
        why, conf = Code.READ_DUPLICATE_MORE_INK.format(n=ink_w - ink_l), DUP_MORE_INK_CONFIDENCE
    elif win.get("scan") and not lose.get("scan"):
        why, conf = Code.READ_DUPLICATE_SCAN.format(), DUP_MORE_INK_CONFIDENCE
    elif not diff:
        why, conf = Code.READ_DUPLICATE_SAME.format(), DUP_SAME_CONFIDENCE
    else:
        why, conf = Code.READ_DUPLICATE_FIRST.format(), DUP_MORE_INK_CONFIDENCE
    args = {"page_no": win["page_no"], "kept": _where(win), "dropped": _where(lose), "why": why}
    if ink_w and ink_l and diff:
        text, conf = Code.READ_DUPLICATE_DISAGREE.format(diff="、".join(diff), **args), DUP_DISAGREE_CONFIDENCE
    else:
        text = Code.READ_DUPLICATE_KEPT.format(**args)
    return win, lose, why, ReviewNote(None, "duplicate", text, _where(win), conf)


# --- one form's pages → one record -----------------------------------------------------------


def _record(app, pages: dict[int, dict], checker: _DataCheck | None, notes: Sequence[ReviewNote] = ()) -> dict:
    first = pages[min(pages)]
    form = app.forms[first["form"]]
    ident = first["ident"]
    kind, _, value = (ident or "").partition(":")
    readings: list[tuple[int, PageReading]] = [(n, pages[n]["reading"]) for n in sorted(pages)]
    review: list[dict] = []
    crops: dict[int, bytes] = {}

    def note(n: ReviewNote, page_no: int | None = None) -> None:
        item = {"id": None, "stage": n.stage, "item": n.item, "why": n.why, "value": n.value,
                "confidence": round(float(n.confidence), 3), "crop": None}
        review.append(item)
        if n.crop:
            crops[id(item)] = n.crop

    methods = sorted((pages[n]["identified_by"] or "title" for n in pages), key=lambda m: _METHOD_RANK.get(m, 9))
    for _, reading in readings:
        for n in reading.review:
            note(n)
    for n in notes:
        note(n)
    # header values
    fields: dict[str, Any] = {}
    read_fields: dict[str, tuple[str, float, bytes | None]] = {}
    for _, reading in readings:
        for k, (v, c, line) in reading.fields.items():
            if k not in read_fields:
                crop = reading.line_crops[line] if 0 <= line < len(reading.line_crops) else None
                read_fields[k] = (v, c, crop)
    header = _header(app, form)
    slots = {s.key: s for s in header.slots} if header else {}
    linked = checker is not None and kind in ("C", "R") and checker.available(form)
    expected = checker.expected(form, kind, value) if linked else None
    if linked and expected is None:
        note(ReviewNote(None, "identity", Code.READ_NO_RECORD.format(
            data=checker.label, what="户编号" if kind == "C" else "行号", ident=value), ident, 0.5))
    for key, (v, c, crop) in read_fields.items():
        slot = slots.get(key)
        label = slot.label if slot else key
        shown = _masked(slot, v)
        if expected is not None and key in expected and expected[key]:
            if same_value(v, expected[key]):
                fields[key] = v
                continue
            fields[key] = v
            n = ReviewNote(None, f"field:{key}", Code.READ_FIELD_MISMATCH.format(
                label=label, value=shown, expected=_masked(slot, expected[key])), v, c, crop)
            note(n)
        elif c >= FIELD_REVIEW_BELOW:
            fields[key] = v
        else:
            fields[key] = None
            note(ReviewNote(None, f"field:{key}", Code.READ_FIELD_UNCERTAIN.format(label=label, value=shown), v, c,
                            crop))
    if kind in ("C", "R") and header is not None:  # pre-filled: every printed value should be read back
        want = [k for k, e in expected.items() if e] if expected is not None else [s.key for s in header.slots]
        for key in want:
            if key not in read_fields:
                slot = slots.get(key)
                if expected is None and not _printed_always(form, key):
                    continue
                note(ReviewNote(None, f"field:{key}", Code.READ_FIELD_UNREAD.format(label=slot.label if slot else key),
                                None, 0.0))
    # boxes outside stages
    codes: dict[str, list[int]] = {}
    for _, reading in readings:
        for k, v in reading.codes.items():
            codes.setdefault(k, v)
    # stages, every one of the form, in order
    from .reference import reference_year

    county_values = app.county.placeholders(reference_year(app.county))
    stages: dict[str, dict] = {}
    for stage in form.stages:
        st: StageReading | None = next((r.stages[stage.key] for _, r in readings if stage.key in r.stages), None)
        if st is None:
            st = StageReading(signers=[{"role": role_text(s.role, county_values), "marks": list(s.marks),
                                        "present": False, "seal": False,
                                        "thumbprint": False, "confidence": 0.0} for s in stage.signers],
                              date=None, date_confidence=0.0, codes={}, codes_confidence=0.0)
        signers = st.signers
        stages[stage.key] = {
            "signed": bool(signers) and all(s["present"] for s in signers),
            "confidence": round(min((s["confidence"] for s in signers), default=1.0), 3),
            "signers": signers,
            "date": st.date, "date_confidence": round(st.date_confidence, 3),
            "codes": st.codes, "codes_confidence": round(st.codes_confidence, 3),
        }
    total = first["pages"] or 1
    missing = [str(n) for n in range(1, total + 1) if n not in pages]
    if missing:
        note(ReviewNote(None, "pages", Code.READ_MISSING_PAGES.format(pages=total, missing="、".join(missing)),
                        None, 0.0))
    files = list(dict.fromkeys(pages[n]["file"] for n in sorted(pages)))
    source: dict[str, Any] = {"file": files[0], "pages": [pages[n]["page"] for n in sorted(pages)
                                                          if pages[n]["file"] == files[0]]}
    if len(files) > 1:
        source["files"] = [{"file": f, "pages": [pages[n]["page"] for n in sorted(pages) if pages[n]["file"] == f]}
                           for f in files]
    record = {
        "form": form.id, "form_version": first["version"],
        "case_id": value if kind == "C" else None,
        "serial": value if kind == "S" else None,
        "row": int(value) if kind == "R" and value.isdigit() else None,
        "identified_by": methods[-1] if methods else "title",
        "fields": fields, "codes": codes, "stages": stages, "source": source,
        "needs_review": review,
    }
    record["_crops"] = crops  # removed before writing (see _number_review)
    return record


def _printed_always(form, key: str) -> bool:
    """Without the data file: a required value that is not an address part is always printed."""
    f = form.field(key.split(".", 1)[0])
    return bool(f is not None and f.required and f.type != "address")


def _masked(slot, value: str | None) -> str:
    if value is None:
        return ""
    if slot is not None and slot.sensitive:
        try:
            return mask_value(slot.sensitive, str(value))
        except ValueError:
            return mask_value("text", str(value))
    return str(value)


def _header(app, form):
    from .reference import header_layout

    return header_layout(app, form)


def _number_review(records: list[dict], review_dir: Path | None) -> None:
    from ..util.atomic import ensure_dir, write_atomic

    n = 0
    crop_dir = review_dir / "crops" if review_dir is not None else None
    if crop_dir is not None and any(rec.get("_crops") for rec in records):
        ensure_dir(crop_dir, error=ReadBackError)
    for rec in records:
        crops = rec.pop("_crops", {})
        for item in rec["needs_review"]:
            n += 1
            item["id"] = f"R{n:04d}"
            data = crops.get(id(item))
            if data and crop_dir is not None:
                write_atomic(crop_dir / f"{item['id']}.png", data, error=ReadBackError)
                item["crop"] = f"crops/{item['id']}.png"


class _DataCheck:
    """The data file given with ``--data``: what each pre-filled form should show."""

    def __init__(self, app, data: Path, sheet: str | None):
        self.app, self.data, self.sheet = app, Path(data), sheet
        self.label = Path(data).name
        self.problems: list[Problem] = []
        self._by_form: dict[str, tuple[dict, dict] | None] = {}

    def _load(self, form):
        if form.id in self._by_form:
            return self._by_form[form.id]
        try:
            result = self.app.load_and_check(form, self.data, sheet=self.sheet)
        except (DataError, FanpinError) as exc:
            self.problems.extend(p.with_location(file=str(self.data)) if not p.location.file else p
                                 for p in exc.problems[:5])
            self._by_form[form.id] = None
            return None
        by_case = {str(r.case_id): r for r in result.records if r.case_id}
        by_row = {r.row: r for r in result.records if r.row is not None}
        self._by_form[form.id] = (by_case, by_row)
        return self._by_form[form.id]

    def available(self, form) -> bool:
        return self._load(form) is not None

    def expected(self, form, kind: str, value: str) -> dict[str, str] | None:
        loaded = self._load(form)
        if loaded is None:
            return None
        by_case, by_row = loaded
        record = by_case.get(value) if kind == "C" else (by_row.get(int(value)) if value.isdigit() else None)
        if record is None:
            return None
        from .reference import header_layout, reference_year

        header = header_layout(self.app, form)
        return header.expected(record, self.app.county, self.app.field_types, reference_year(self.app.county))


__all__ = ["ParseResult", "assemble", "parse_inputs", "shutdown_workers"]
