"""Applying the answers of the review: the corrections sheet, checked and applied all or nothing.

The sheet is the CSV the review page saves (or an XLSX, or a sheet typed by hand:
columns 条目编号 and 更正值). Every problem is reported at once (unknown ids,
values that do not fit the item) and then nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Any

from ...errors import Code, DataError, Location, Problem, ReadBackError, did_you_mean
from ...intake.tabular import read_table
from ..results import ReviewKind
from ..setup import ReadSetup
from .page import sensitive_kind, shown_value

ID_HEADERS = ("条目编号", "item id", "item_id", "id", "编号")
VALUE_HEADERS = ("更正值", "value", "corrected", "更正", "更正后的值")
_YES = {"是", "有", "已签", "已签字", "已盖章", "已按手印", "true", "yes", "y", "1", "√", "✓", "✔", "有签字"}
_NO = {"否", "无", "没有", "未签", "未签字", "未盖章", "false", "no", "n", "0", "×", "✗"}
_NONE = {"无", "没有", "空", "-", "—", "none", "null"}


def read_corrections(path: Path) -> list[tuple[int, str, str]]:
    """(row as the user sees it, item id, value) of every filled row of the sheet.

    Read through :func:`~fanpin_forms.intake.tabular.read_table`, like any data
    file: the header is the first of the top rows naming the item id and the value
    columns (title rows above it are skipped)."""
    path = Path(path)
    ids, values = {_norm_header(h) for h in ID_HEADERS}, {_norm_header(h) for h in VALUE_HEADERS}
    try:
        table = read_table(path, header_score=lambda text: _norm_header(text) in ids | values)
    except DataError as exc:
        codes = {p.code for p in exc.problems}
        if Code.DATA_NO_HEADER in codes:
            raise ReadBackError.of(Code.READ_REVIEW_NO_COLUMNS, path=str(path)) from None
        if Code.DATA_FILE_EMPTY in codes:
            return []  # a header and no corrections
        raise ReadBackError.of(Code.READ_REVIEW_FILE_UNREADABLE, path=str(path),
                               why=exc.problems[0].message) from None
    id_col = next((h for h in table.headers if _norm_header(h) in ids), None)
    val_col = next((h for h in table.headers if _norm_header(h) in values), None)
    if id_col is None or val_col is None:
        raise ReadBackError.of(Code.READ_REVIEW_NO_COLUMNS, path=str(path))
    out = []
    for row in table.rows:
        ident, value = row.cells.get(id_col), row.cells.get(val_col)
        ident = "" if ident is None else str(ident).strip()
        value = "" if value is None else str(value)
        if ident and value.strip():
            out.append((row.number, ident, value.strip()))
    return out


def _norm_header(cell) -> str:
    return unicodedata.normalize("NFKC", str(cell or "")).strip().lower().replace(" ", "").replace("*", "")


class _Bad(Exception):
    pass


def apply_corrections(setup: ReadSetup, records: list[dict], corrections: list[tuple[int, str, str]],
                      *, label: str = "") -> tuple[list[dict], int]:
    """Apply every correction; returns (records, how many applied). Raises with every problem."""
    index: dict[str, tuple[dict, dict]] = {}
    for rec in records:
        for it in rec.get("needs_review", []):
            if it.get("id"):
                index[it["id"]] = (rec, it)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    done: list[tuple[dict, dict, Any]] = []
    for row, ident, value in corrections:
        key = ident.strip().upper()
        if key in seen:
            problems.append(Problem(Code.READ_REVIEW_DUPLICATE_ID, {"row": row, "id": ident, "first": seen[key]},
                                    Location(file=label or None)))
            continue
        seen[key] = row
        if key not in index:
            problems.append(Problem(Code.READ_REVIEW_UNKNOWN_ID, {"row": row, "id": ident,
                                                                  "hint": did_you_mean(key, list(index))},
                                    Location(file=label or None)))
            continue
        rec, it = index[key]
        try:
            parsed = _parse_value(setup, rec, it, value)
        except _Bad as exc:
            sens = sensitive_kind(setup, rec["form"], it["item"])
            shown = shown_value(value, sens) if sens else value
            problems.append(Problem(Code.READ_REVIEW_BAD_VALUE, {"row": row, "id": key, "item": it["item"],
                                                                 "value": shown, "why": str(exc)},
                                    Location(file=label or None)))
            continue
        done.append((rec, it, parsed))
    if problems:
        raise ReadBackError(problems)
    for rec, it, parsed in done:
        _apply(rec, it, parsed)
    return records, len(done)


def _parse_value(setup: ReadSetup, rec: dict, it: dict, value: str) -> Any:
    from ..dates import parse_codes, parse_date

    kind, rest = ReviewKind.split(it["item"])
    text = unicodedata.normalize("NFKC", value).strip()
    form = setup.forms.get(rec["form"])
    if kind is ReviewKind.DATE:
        if text.lower() in _NONE:
            return None
        reading = parse_date(text, 1.0)
        if reading.value is None:
            raise _Bad(reading.invalid or "应写作 2022-06-03 或 2022年6月3日")
        return reading.value.isoformat()
    if kind is ReviewKind.CODES:
        f = form.field(rest) if form else None
        allowed = {c.no for lid in (f.code_lists if f else ()) for c in form.code_lists[lid].codes} if f else set()
        if text.lower() in _NONE:
            return []
        codes, ok = parse_codes(value, allowed)
        if not ok or not codes:
            marks = "、".join(str(n) for n in sorted(allowed))
            raise _Bad(f"应填序号（可填 {marks}），多个用逗号隔开；都没有勾选填 无")
        return codes
    if kind is ReviewKind.SIGNATURE:
        low = text.lower()
        if low in _YES:
            return True
        if low in _NO:
            return False
        raise _Bad("应填 有 或 无")
    if kind is ReviewKind.FIELD:
        key, _, part = rest.partition(".")
        f = form.field(key) if form else None
        if f is not None and not part and f.type in setup.field_types:
            from ...forms.fieldtypes import Invalid, ParseContext

            try:
                setup.field_types[f.type].parse(text, f, ParseContext(form=form, county=setup.county,
                                                                     today=dt.date.today(), types=setup.field_types))
            except Invalid as exc:
                raise _Bad(str(exc)) from None
        return text
    if kind is ReviewKind.IDENTITY:
        m = re.fullmatch(r"([CSR])\s*[:：]\s*(.+)", text)
        if m:
            if m.group(1) == "R" and not m.group(2).isdigit():
                raise _Bad("行号应为数字，如 R:12")
            return (m.group(1), m.group(2).strip())
        if not text:
            raise _Bad("应填户编号")
        return ("C", text)
    return text  # pages, alignment, duplicate: an acknowledgement


def _apply(rec: dict, it: dict, value: Any) -> None:
    kind, rest = ReviewKind.split(it["item"])
    stage = rec.get("stages", {}).get(it.get("stage")) if it.get("stage") else None
    old: Any = None
    if kind is ReviewKind.DATE and stage is not None:
        old, stage["date"], stage["date_confidence"] = stage.get("date"), value, 1.0
    elif kind is ReviewKind.CODES:
        target = stage["codes"] if stage is not None else rec.setdefault("codes", {})
        old = target.get(rest)
        target[rest] = value
        if stage is not None:
            stage["codes_confidence"] = 1.0
    elif kind is ReviewKind.SIGNATURE and stage is not None:
        i = int(rest) if rest.isdigit() else 0
        signer = stage["signers"][i]
        old = signer["present"]
        signer["present"], signer["confidence"] = bool(value), 1.0
        if "盖章" in signer.get("marks", []):
            signer["seal"] = bool(value)
        stage["signed"] = bool(stage["signers"]) and all(s["present"] for s in stage["signers"])
        stage["confidence"] = round(min(s["confidence"] for s in stage["signers"]), 3)
    elif kind is ReviewKind.FIELD:
        old = rec.setdefault("fields", {}).get(rest)
        rec["fields"][rest] = value
    elif kind is ReviewKind.IDENTITY:
        k, v = value
        old = rec.get("case_id") or rec.get("serial") or rec.get("row")
        rec["case_id"] = v if k == "C" else None
        rec["serial"] = v if k == "S" else None
        rec["row"] = int(v) if k == "R" else None
    rec["needs_review"] = [x for x in rec["needs_review"] if x is not it]
    rec.setdefault("corrections", []).append({"id": it["id"], "stage": it.get("stage"), "item": it["item"],
                                              "value": value if kind is not ReviewKind.IDENTITY else f"{value[0]}:{value[1]}",
                                              "was": old})


__all__ = ["ID_HEADERS", "VALUE_HEADERS", "apply_corrections", "read_corrections"]
