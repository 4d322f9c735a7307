"""Data in, as clerks keep it: a spreadsheet's rows → validated :class:`Record` objects.

Column headers are matched to fields by printed label, key and aliases, after
normalising width, spaces and "*"/"（必填）" marks (户主姓名/姓名, 身份证号/身份证号码,
乡镇(街道)/乡镇 …). Every problem of a file is collected; an error names the file,
the row as Excel shows it and the field by its Chinese label, with sensitive values
masked. Nothing is half-loaded: callers decide what to do with invalid rows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..forms.county import County
from ..errors import Code, DataError, Location, Problem, did_you_mean
from ..privacy.masking import DEFAULT as DEFAULT_MASK, mask_id
from ..forms.fieldtypes import Invalid, ParseContext, FieldType, is_empty, jsonable, nfkc
from ..forms.model import ADDRESS_PARTS, Field, FormSpec
from .tabular import SourceTable, read_table

CASE_ID_HEADERS = ("户编号", "编号", "户码", "家庭编号", "case_id")
#: a row of a few cells starting with one of these is a sheet's footer, not a household
FOOTER_WORDS = ("合计", "小计", "总计", "填表人", "制表人", "审核人", "填报人", "负责人", "填表日期", "备注：", "说明：")
CASE_ID = "case_id"
#: words before the row number of a table's numbered columns (besides the table's own label)
TABLE_PREFIXES = ("成员",)
#: numbered columns accepted for a table that states no max_rows
TABLE_COLUMN_ROWS = 10
_MARKS = re.compile(r"[*＊]|[（(]必填[)）]|[（(]选填[)）]")
_DROP = str.maketrans("", "", " \n\t“”\"'‘’")


def normalize_header(text: str) -> str:
    return _MARKS.sub("", nfkc(str(text))).translate(_DROP).lower()


@dataclass
class Record:
    """One household's values for one form. ``row`` is the row as the user sees it,
    ``sheet`` the workbook's sheet it came from (None for CSV and JSON).

    ``invalid`` names the fields whose cells could not be read: such a record is
    only ever handed to record checks (so that a row's every problem is reported in
    one run), never printed."""

    form: str
    values: dict[str, Any]
    row: int | None = None
    case_id: str | None = None
    source: str = ""
    sheet: str | None = None
    invalid: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {"form": self.form, "case_id": self.case_id, "row": self.row, "source": self.source,
                "fields": {k: jsonable(v) for k, v in self.values.items()}}


@dataclass
class LoadResult:
    records: list[Record]  # valid records only
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    rows_total: int = 0
    #: rows with errors, as far as they could be read (``Record.invalid`` says what not)
    partial: list[Record] = field(default_factory=list)

    @property
    def invalid_rows(self) -> set[int]:
        return {p.location.row for p in self.errors if p.location.row is not None}


class HeaderIndex:
    """Normalised header text → (field key, address part or None)."""

    def __init__(self, form: FormSpec, extra: dict[str, tuple[str, str | None]] | None = None):
        self.targets: dict[str, tuple[str, str | None]] = {}
        for name in CASE_ID_HEADERS:
            self._add(name, (CASE_ID, None))
        for f in form.fields:
            if f.type == "address":
                for part in f.params.get("parts", ()):
                    default_label, aliases = ADDRESS_PARTS[part]
                    for name in (f.part_label(part), default_label, *aliases, f"{f.key}.{part}", part):
                        self._add(name, (f.key, part))
                for part in set(ADDRESS_PARTS) - set(f.params.get("parts", ())):
                    for name in (ADDRESS_PARTS[part][0], *ADDRESS_PARTS[part][1]):
                        self._add(name, (f.key, part))  # accepted, then ignored by the type
            else:
                for name in (f.label, f.key, *f.aliases):
                    self._add(name, (f.key, None))
            if f.type == "table":
                self._add_table(f)
        for name, target in (extra or {}).items():
            self._add(name, target)

    def _add_table(self, f: Field) -> None:
        """A table's rows in numbered columns: ``成员1姓名``, ``家庭成员2证件号码``, ``家庭成员3·劳动技能``
        (one row per household; :data:`TABLE_PREFIXES` and the table's label before the number)."""
        rows = int(f.params.get("max_rows") or TABLE_COLUMN_ROWS)
        for i in range(1, rows + 1):
            for prefix in dict.fromkeys((f.label, *TABLE_PREFIXES)):
                for col in f.columns:
                    for name in (col.label, col.key, *col.aliases):
                        for sep in ("", "·", "-", "_"):
                            self._add(f"{prefix}{i}{sep}{name}", (f.key, f"{i}.{col.key}"))

    def _add(self, name: str, target: tuple[str, str | None]) -> None:
        self.targets.setdefault(normalize_header(name), target)

    def match(self, header: str) -> tuple[str, str | None] | None:
        return self.targets.get(normalize_header(header))

    def known(self, header: str) -> bool:
        return self.match(header) is not None


def display_path(path: Path | str) -> str:
    return Path(path).name


def load_records(path: Path | str, form: FormSpec, county: County | None, types: dict[str, FieldType], *,
                 sheet: str | None = None, today: dt.date | None = None,
                 table: SourceTable | None = None) -> LoadResult:
    """Read ``path`` and validate every row against ``form``.

    Raises DataError when the file as a whole is unusable (unreadable, a required
    column missing, two columns for one field, no records); problems of single rows
    are returned in the result, every one of them."""
    index = HeaderIndex(form)
    table = table or read_table(path, sheet=sheet, header_score=index.known)
    name = display_path(path)
    result = LoadResult(records=[], rows_total=len(table.rows))
    where = {"file": name, "sheet": table.sheet}

    columns: dict[tuple[str, str | None], str] = {}
    for header in table.headers:
        target = index.match(header)
        if target is None:
            hint = did_you_mean(normalize_header(header), list(index.targets))
            result.warnings.append(Problem(Code.DATA_UNKNOWN_HEADER, {"header": header, "hint": hint},
                                           Location(**where), "warning"))
            continue
        if target in columns:
            label = _target_label(form, target)
            result.errors.append(Problem(Code.DATA_AMBIGUOUS_HEADER,
                                         {"header_a": columns[target], "header_b": header, "label": label}, Location(**where)))
            continue
        columns[target] = header
    defaults = county.default_address() if county else {}
    for f in form.fields:
        if not f.required or f.type == "table":
            continue
        if f.type == "address":
            optional = set(f.params.get("optional_parts", ()))
            missing = [p for p in f.params.get("parts", ()) if (f.key, p) not in columns and p not in optional
                       and not defaults.get(p)]
        else:
            missing = [None] if (f.key, None) not in columns else []
        for part in missing:
            label = f.part_label(part) if part else f.label
            aliases = "、".join(dict.fromkeys([label, *(ADDRESS_PARTS[part][1] if part else f.aliases)]))
            result.errors.append(Problem(Code.DATA_MISSING_COLUMN, {"label": label, "aliases": aliases}, Location(**where)))
    if not table.rows:
        result.errors.append(Problem(Code.DATA_FILE_EMPTY, {}, Location(**where)))
    if result.errors:  # the file as a whole is unusable: no row can be read
        raise DataError(result.errors + result.warnings)  # unknown headers often explain a missing column

    ctx = ParseContext(form=form, county=county, today=today, types=types)
    seen = _FirstRows(form, county)
    for row in table.rows:
        if is_footer(row.cells):
            result.warnings.append(Problem(Code.DATA_FOOTER_SKIPPED, {}, Location(**where, row=row.number), "warning"))
            result.rows_total -= 1
            continue
        values, errors = parse_row(row.cells, columns, form, ctx, types)
        loc = dict(where, row=row.number)
        case_id = values.pop(CASE_ID, None)
        errors.extend(seen.duplicates(case_id, values, row.number))
        if errors:
            result.errors.extend(p.with_location(**loc) for p in errors)
            invalid = frozenset(f.key for f in form.fields if f.key not in values)
            result.partial.append(Record(form.id, values, row.number, case_id, name, table.sheet, invalid))
            continue
        result.records.append(Record(form.id, values, row.number, case_id, name, table.sheet))
    return result


class _FirstRows:
    """The first row of each 户编号 and each household ID number, for "重复" errors.

    Every form here has one row per household, so a second row with the same
    户编号 or the same 身份证号码 (a top-level ID field, not a member table) is
    the same household typed twice; the error names both rows, the number masked."""

    def __init__(self, form: FormSpec, county: County | None):
        self.id_fields = [f for f in form.fields if f.type == "id_number"]
        self.mask = county.mask if county else DEFAULT_MASK
        self.case_ids: dict[str, int] = {}
        self.ids: dict[tuple[str, str], int] = {}

    def duplicates(self, case_id: str | None, values: dict[str, Any], row: int) -> list[Problem]:
        found: list[Problem] = []
        if case_id:
            if case_id in self.case_ids:
                found.append(Problem(Code.DATA_DUPLICATE_CASE_ID, {"case_id": case_id, "first": self.case_ids[case_id]},
                                     Location(label="户编号")))
            self.case_ids.setdefault(case_id, row)
        for f in self.id_fields:
            number = values.get(f.key)
            if not number:
                continue
            first = self.ids.setdefault((f.key, str(number)), row)
            if first != row:
                found.append(Problem(Code.DATA_DUPLICATE_ID_NUMBER, {
                    "label": f.label, "value": mask_id(str(number), self.mask), "first": first},
                    Location(label=f.label)))
        return found


def is_footer(cells: dict[str, Any]) -> bool:
    """合计/填表人 rows under a household sheet or case ledger: few cells, one starting with a footer word."""
    filled = [str(v).strip() for v in cells.values() if not is_empty(v)]
    return 0 < len(filled) <= 3 and any(v.startswith(FOOTER_WORDS) for v in filled)


def _target_label(form: FormSpec, target: tuple[str, str | None]) -> str:
    if target[0] == CASE_ID:
        return "户编号"
    f = form.field(target[0])
    return f.part_label(target[1]) if target[1] else f.label


def parse_row(cells: dict[str, Any], columns: dict[tuple[str, str | None], str], form: FormSpec,
              ctx: ParseContext, types: dict[str, FieldType]) -> tuple[dict[str, Any], list[Problem]]:
    """One row's cells → values; problems carry the field label but no file/row yet."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    case_col = columns.get((CASE_ID, None))
    if case_col is not None and not is_empty(cells.get(case_col)):
        raw = cells[case_col]
        values[CASE_ID] = str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw).strip()
    for f in form.fields:
        ftype = types[f.type]
        if f.type == "address":
            raw = {part: cells.get(col) for (key, part), col in columns.items() if key == f.key and part}
            whole = columns.get((f.key, None))
            if whole is not None and isinstance(cells.get(whole), dict):
                raw = {**cells[whole], **{k: v for k, v in raw.items() if not is_empty(v)}}
        else:
            col = columns.get((f.key, None))
            raw = cells.get(col) if col is not None else None
            if f.type == "table" and is_empty(raw):
                raw = _numbered_rows(f, columns, cells)
        if f.type != "address" and is_empty(raw):
            if f.required:
                problems.append(Problem(Code.VALUE_REQUIRED, {}, Location(label=f.label)))
            values[f.key] = None if f.type not in ("multi_choice", "table") else (() if f.type == "multi_choice" else [])
            continue
        try:
            values[f.key] = ftype.parse(raw, f, ctx)
        except Invalid as exc:
            label = f.label
            if exc.part_label:
                label = f"{f.label}·{exc.part_label}" if f.type == "table" else exc.part_label
            if exc.row is not None:
                label = f"{f.label}第{exc.row}行·{exc.part_label}"
            problems.append(Problem(exc.code, exc.context, Location(label=label)))
    return values, problems


def _numbered_rows(f: Field, columns: dict, cells: dict) -> list[dict] | None:
    """A table's rows from its numbered columns (成员1姓名 …), in number order; a row
    whose cells are all empty is left out. None when the sheet has no such column."""
    rows: dict[int, dict] = {}
    for (key, part), header in columns.items():
        if key != f.key or not part:
            continue
        number, col = part.split(".", 1)
        rows.setdefault(int(number), {})
        if not is_empty(cells.get(header)):
            rows[int(number)][col] = cells[header]
    if not rows:
        return None
    return [row for _, row in sorted(rows.items()) if row]


def field_of(form: FormSpec, key: str) -> Field:
    f = form.field(key)
    if f is None:
        raise KeyError(key)
    return f
