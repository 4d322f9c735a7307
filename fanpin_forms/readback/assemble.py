"""Page results (in input order) → records, the page list, the summary and the review output.

* pages of one form are joined by (form, version, ident) and ordered by page number,
  whatever order they were scanned in (pages whose QR code is not verified by this
  installation's key are joined only among themselves, so a forged page can never
  replace or join a real one);
* a page seen twice is a duplicate: the copy that carries more ink wins (signatures,
  seals, thumbprints, dates and ticks read on a scan; a scan beats a born-digital
  PDF of the same page, which nobody can have signed), whatever the order; the
  other is named in the page list and the summary, and a review item says which
  was kept and why (and that the two disagree, when both carry ink and differ);
* pre-filled values are compared with the household sheet (``--data``) when given
  (:mod:`.datacheck`);
* every value that was not read with enough confidence becomes a review item with a
  stable id (R0001 …) and, with ``review_dir``, an image crop and ``review.html``.

Records come out in the input order of their first page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Code, Problem, ReadBackError
from ..privacy.masking import mask_value
from .datacheck import DataCheck
from .fields import same_value
from .reference import header_layout, reference_year
from .results import PageReading, PageResult, ReadRecord, ReviewItem, ReviewKind, SignerReading, StageReading
from .geometry import role_text
from .setup import ReadSetup
from .thresholds import (DUP_DISAGREE_CONFIDENCE, DUP_MORE_INK_CONFIDENCE, DUP_SAME_CONFIDENCE,  # noqa: F401
                         FIELD_REVIEW_BELOW)

_METHOD_RANK = {"qr": 0, "text": 1, "title": 2}


@dataclass
class ParseResult:
    """``read``: the records, typed; ``records``: the same as ``fanpin parse`` writes them
    (:func:`.records_io.record_to_dict`); ``pages``: every input page with its status."""

    read: list[ReadRecord] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    pages: list[dict] = field(default_factory=list)
    failures: list[Problem] = field(default_factory=list)
    review_html: Path | None = None

    @property
    def ok(self) -> bool:
        """No file or page failed (review items alone are not a failure)."""
        return not self.summary.get("failed")


@dataclass
class _Group:
    first: int
    pages: dict[int, PageResult] = field(default_factory=dict)
    notes: list[ReviewItem] = field(default_factory=list)


def assemble(setup: ReadSetup, results: list[PageResult], *, data: Path | None = None, sheet: str | None = None,
             review_dir: Path | None = None) -> ParseResult:
    """Page results (in input order) → records, page list, summary, review output."""
    from .records_io import record_to_dict

    out = ParseResult()
    groups: dict[tuple, _Group] = {}
    kept: dict[tuple, int] = {}  # (form, version, ident, trust, page no) → index of the copy used
    entries: list[dict] = []
    dropped: list[dict] = []
    for idx, r in enumerate(results):
        status, why = r.status, r.why
        if status in ("recognised", "flagged"):
            if r.ident is not None:
                key = (r.form, r.version, r.ident) + (() if r.trusted else ("unverified",))
                group = groups.setdefault(key, _Group(idx))
                dup = key + (r.page_no,)
                if dup in kept:
                    other = kept[dup]
                    win, lose, reason, note = _duplicate(results[other], r)
                    win_idx, lose_idx = (other, idx) if win is results[other] else (idx, other)
                    kept[dup] = win_idx
                    group.pages[r.page_no] = win
                    group.notes.append(note)
                    dropped.append({"file": lose.file, "page": lose.page, "kept_file": win.file,
                                    "kept_page": win.page, "why": reason})
                    gone = Code.READ_DUPLICATE_PAGE.format(kept=win.where, why=reason)
                    if lose_idx == idx:
                        status, why = "duplicate", gone
                    else:
                        entries[lose_idx].update(status="duplicate", why=gone)
                else:
                    kept[dup] = idx
                    group.pages[r.page_no] = r
            else:
                groups[("title", idx)] = _Group(idx, {1: r})
        elif status == "failed" and r.problem is not None:
            out.failures.append(r.problem.with_location(file=r.where))
        entries.append({"file": r.file, "page": r.page, "status": status, "form": r.form, "ident": r.ident,
                        "why": why})
    out.pages = entries
    checker = DataCheck(setup, data, sheet) if data is not None else None
    for key in sorted(groups, key=lambda k: groups[k].first):
        out.read.append(_record(setup, groups[key].pages, checker, groups[key].notes))
    if checker is not None:
        out.failures.extend(checker.problems)
    _number_review(out.read, review_dir)
    out.records = [record_to_dict(rec) for rec in out.read]
    if review_dir is not None:
        from .review import write_review

        out.review_html = write_review(setup, out.records, review_dir)
    counts = {s: sum(1 for p in out.pages if p["status"] == s)
              for s in ("recognised", "flagged", "foreign", "duplicate", "failed")}
    out.summary = {"files": len({p["file"] for p in out.pages}), "pages": len(out.pages),
                   "forms": len(out.read), "recognised": counts["recognised"] + counts["flagged"],
                   "flagged": counts["flagged"], "foreign": counts["foreign"], "duplicates": counts["duplicate"],
                   "duplicate_pages": dropped, "failed": counts["failed"],
                   "review": sum(len(r.needs_review) for r in out.read)}
    return out


# --- duplicates: the copy that carries more ink wins -----------------------------------------


def ink_marks(r: PageResult) -> int:
    """How many marks a person made on this page, as read: signatures, seals,
    thumbprints and dates present, boxes ticked in the stages. A born-digital page
    (``scan`` false) carries none, whatever its text says."""
    reading = r.reading
    if reading is None or not r.scan:
        return 0
    n = 0
    for st in reading.stages.values():
        n += sum(bool(s.present) + bool(s.seal) + bool(s.thumbprint) for s in st.signers)
        n += st.date is not None
        n += sum(len(v) for v in st.codes.values())
    return n


def _marks(r: PageResult) -> dict[str, tuple]:
    """What was read, by kind, to tell whether two copies of a page say the same."""
    reading: PageReading = r.reading
    stages = sorted(reading.stages.items())
    return {
        "签字、盖章、手印": tuple((k, tuple((s.present, s.seal, s.thumbprint) for s in st.signers))
                          for k, st in stages),
        "日期": tuple((k, st.date) for k, st in stages),
        "勾选": tuple((k, tuple(sorted((f, tuple(sorted(v))) for f, v in st.codes.items())))
                    for k, st in stages) + (tuple(sorted((f, tuple(sorted(v))) for f, v in reading.codes.items())),),
    }


def _duplicate(first: PageResult, second: PageResult) -> tuple[PageResult, PageResult, str, ReviewItem]:
    """Of two copies of one page (``first`` read earlier): (kept, dropped, why, review item).
    More ink wins; then a scan over a born-digital page; then the earlier one."""
    rank_a = (ink_marks(first), bool(first.scan))
    rank_b = (ink_marks(second), bool(second.scan))
    win, lose = (second, first) if rank_b > rank_a else (first, second)
    ink_w, ink_l = ink_marks(win), ink_marks(lose)
    mw, ml = _marks(win), _marks(lose)
    diff = [kind for kind in mw if mw[kind] != ml[kind]]
    if ink_w > ink_l:
        why, conf = Code.READ_DUPLICATE_MORE_INK.format(n=ink_w - ink_l), DUP_MORE_INK_CONFIDENCE
    elif win.scan and not lose.scan:
        why, conf = Code.READ_DUPLICATE_SCAN.format(), DUP_MORE_INK_CONFIDENCE
    elif not diff:
        why, conf = Code.READ_DUPLICATE_SAME.format(), DUP_SAME_CONFIDENCE
    else:
        why, conf = Code.READ_DUPLICATE_FIRST.format(), DUP_MORE_INK_CONFIDENCE
    args = {"page_no": win.page_no, "kept": win.where, "dropped": lose.where, "why": why}
    if ink_w and ink_l and diff:
        text, conf = Code.READ_DUPLICATE_DISAGREE.format(diff="、".join(diff), **args), DUP_DISAGREE_CONFIDENCE
    else:
        text = Code.READ_DUPLICATE_KEPT.format(**args)
    return win, lose, why, ReviewItem(None, ReviewKind.DUPLICATE, None, text, win.where, conf)


# --- one form's pages → one record -----------------------------------------------------------


class _Review:
    """The review items of one record, in the order they are found."""

    def __init__(self) -> None:
        self.items: list[ReviewItem] = []

    def add(self, n: ReviewItem) -> None:
        self.items.append(ReviewItem(n.stage, n.kind, n.target, n.why, n.value, round(float(n.confidence), 3),
                                     n.crop_png))


def _record(setup: ReadSetup, pages: dict[int, PageResult], checker: DataCheck | None,
            notes: Sequence[ReviewItem] = ()) -> ReadRecord:
    first = pages[min(pages)]
    form = setup.forms[first.form]
    ident = first.ident
    kind, _, value = (ident or "").partition(":")
    readings: list[PageReading] = [pages[n].reading for n in sorted(pages)]
    review = _Review()
    for reading in readings:
        for n in reading.review:
            review.add(n)
    for n in notes:
        review.add(n)
    fields = _fields(setup, form, kind, value, ident, readings, checker, review)
    if any(r.tables for r in readings):  # repeating tables: readback/tables.py
        from .tables import table_fields

        tables = {k: v for r in reversed(readings) for k, v in r.tables.items()}
        linked = checker is not None and kind in ("C", "R") and checker.available(form)
        found, items = table_fields(form, tables, checker.record(form, kind, value) if linked else None,
                                    setup.field_types)
        fields.update(found)
        for n in items:
            review.add(n)
    codes: dict[str, list[int]] = {}  # boxes outside stages
    for reading in readings:
        for k, v in reading.codes.items():
            codes.setdefault(k, v)
    stages = _stages(setup, form, readings)
    total = first.pages or 1
    missing = [str(n) for n in range(1, total + 1) if n not in pages]
    if missing:
        review.add(ReviewItem(None, ReviewKind.PAGES, None,
                              Code.READ_MISSING_PAGES.format(pages=total, missing="、".join(missing)), None, 0.0))
    methods = sorted((pages[n].identified_by or "title" for n in pages), key=lambda m: _METHOD_RANK.get(m, 9))
    return ReadRecord(
        form=form.id, form_version=first.version,
        case_id=value if kind == "C" else None,
        serial=value if kind == "S" else None,
        row=int(value) if kind == "R" and value.isdigit() else None,
        identified_by=methods[-1] if methods else "title",
        fields=fields, codes=codes, stages=stages, source=_source(pages), needs_review=review.items)


def _fields(setup: ReadSetup, form, kind: str, value: str, ident: str | None, readings: list[PageReading],
            checker: DataCheck | None, review: _Review) -> dict[str, Any]:
    """Header values: taken when sure (and, with the household sheet, when they match it)."""
    fields: dict[str, Any] = {}
    read_fields: dict[str, tuple[str, float, bytes | None]] = {}
    for reading in readings:
        for k, (v, c, line) in reading.fields.items():
            if k not in read_fields:
                crop = reading.line_crops[line] if 0 <= line < len(reading.line_crops) else None
                read_fields[k] = (v, c, crop)
    header = header_layout(setup, form)
    slots = {s.key: s for s in header.slots} if header else {}
    linked = checker is not None and kind in ("C", "R") and checker.available(form)
    expected = checker.expected(form, kind, value) if linked else None
    if linked and expected is None:
        review.add(ReviewItem(None, ReviewKind.IDENTITY, None, Code.READ_NO_RECORD.format(
            data=checker.label, what="户编号" if kind == "C" else "行号", ident=value), ident, 0.5))
    for key, (v, c, crop) in read_fields.items():
        slot = slots.get(key)
        label = slot.label if slot else key
        shown = _masked(slot, v)
        if expected is not None and key in expected and expected[key]:
            fields[key] = v
            if not same_value(v, expected[key]):
                review.add(ReviewItem(None, ReviewKind.FIELD, key, Code.READ_FIELD_MISMATCH.format(
                    label=label, value=shown, expected=_masked(slot, expected[key])), v, c, crop))
        elif c >= FIELD_REVIEW_BELOW:
            fields[key] = v
        else:
            fields[key] = None
            review.add(ReviewItem(None, ReviewKind.FIELD, key,
                                  Code.READ_FIELD_UNCERTAIN.format(label=label, value=shown), v, c, crop))
    if kind in ("C", "R") and header is not None:  # pre-filled: every printed value should be read back
        want = [k for k, e in expected.items() if e] if expected is not None else [s.key for s in header.slots]
        for key in want:
            if key not in read_fields:
                slot = slots.get(key)
                if expected is None and not _printed_always(form, key):
                    continue
                review.add(ReviewItem(None, ReviewKind.FIELD, key,
                                      Code.READ_FIELD_UNREAD.format(label=slot.label if slot else key), None, 0.0,
                                      _unread_crop(readings, key)))
    return fields


def _unread_crop(readings: list[PageReading], key: str) -> bytes | None:
    """The image of where a header value was looked for and not read (its review crop)."""
    for reading in readings:
        line = reading.unread_crops.get(key, -1)
        if 0 <= line < len(reading.line_crops) and reading.line_crops[line]:
            return reading.line_crops[line]
    return None


def _stages(setup: ReadSetup, form, readings: list[PageReading]) -> dict[str, StageReading]:
    """Every stage of the form, in order, from the first page that shows it (else nobody signed)."""
    county_values = setup.county.placeholders(reference_year(setup.county))
    stages: dict[str, StageReading] = {}
    for stage in form.stages:
        st = next((r.stages[stage.key] for r in readings if stage.key in r.stages), None)
        if st is None:
            st = StageReading(signers=[SignerReading.unsigned(role_text(s.role, county_values), s.marks, 0.0)
                                       for s in stage.signers],
                              date=None, date_confidence=0.0, codes={}, codes_confidence=0.0)
        stages[stage.key] = StageReading(st.signers, st.date, round(st.date_confidence, 3), st.codes,
                                         round(st.codes_confidence, 3))
    return stages


def _source(pages: dict[int, PageResult]) -> dict[str, Any]:
    files = list(dict.fromkeys(pages[n].file for n in sorted(pages)))
    source: dict[str, Any] = {"file": files[0], "pages": [pages[n].page for n in sorted(pages)
                                                          if pages[n].file == files[0]]}
    if len(files) > 1:
        source["files"] = [{"file": f, "pages": [pages[n].page for n in sorted(pages) if pages[n].file == f]}
                           for f in files]
    return source


def _printed_always(form, key: str) -> bool:
    """Without the household sheet: a required value that is not an address part is always printed."""
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


def _number_review(records: list[ReadRecord], review_dir: Path | None) -> None:
    """Number every review item (R0001 …, over the whole run) and write its crop to ``review_dir/crops``."""
    from ..util.atomic import ensure_dir, write_atomic

    n = 0
    crop_dir = review_dir / "crops" if review_dir is not None else None
    if crop_dir is not None and any(it.crop_png for rec in records for it in rec.needs_review):
        ensure_dir(crop_dir, error=ReadBackError)
    for rec in records:
        for item in rec.needs_review:
            n += 1
            item.id = f"R{n:04d}"
            if item.crop_png and crop_dir is not None:
                write_atomic(crop_dir / f"{item.id}.png", item.crop_png, error=ReadBackError)
                item.crop = f"crops/{item.id}.png"
            item.crop_png = None


__all__ = ["ParseResult", "assemble", "ink_marks"]
