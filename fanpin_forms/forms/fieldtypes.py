"""Field types: what a spec may say about a field, and how a cell becomes a value.

Each type is a :class:`FieldType`. The built-in ones are registered by
``default_plugins/core_types.py`` through the ``register_field_types`` hook, exactly
as a county plugin would add its own (say, a bank-account type with its own check).

``parse`` turns a raw cell (str, int, float, date, list…) into a clean value or
raises :class:`Invalid` with a catalogue code. Messages never contain a sensitive
value in full: types that handle one mask it themselves.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from ..errors import Code, did_you_mean
from .model import ADDRESS_PARTS, CIRCLED, CodeItem, Field, FormSpec


class Invalid(Exception):
    """A value is wrong. ``part`` names an address part or table column when relevant."""

    def __init__(self, code: Code, part_label: str | None = None, row: int | None = None, **context: Any):
        super().__init__(code.format(**context))
        self.code = code
        self.context = context
        self.part_label = part_label
        self.row = row


@dataclass
class ParseContext:
    """What a type may need besides the cell: the form, the county, today."""

    form: FormSpec
    county: Any = None  # fanpin_forms.forms.county.County or None
    today: dt.date | None = None
    types: dict[str, "FieldType"] | None = None  # the registry, for table columns


def is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, (list, dict)) and not raw)


def as_text(raw: Any) -> str:
    """Cell → text, the way a clerk means it: 3.0 → "3", full-width spaces stripped."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, (dt.datetime, dt.date)):
        return raw.strftime("%Y-%m-%d")
    return str(raw).replace("\u3000", " ").strip()


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


class FieldType:
    """Base class. Subclasses set ``name``, ``params`` and override ``parse``/``display``."""

    name: ClassVar[str] = ""
    #: allowed spec keys besides the common ones → short description (for errors and docs)
    params: ClassVar[dict[str, str]] = {}
    #: masking kind when the field is sensitive by nature
    sensitive: ClassVar[str | None] = None

    def parse(self, raw: Any, field: Field, ctx: ParseContext) -> Any:
        raise NotImplementedError

    def display(self, value: Any, field: Field, ctx: ParseContext | None = None) -> str:
        """The value as printed on a form."""
        return "" if value is None else str(value)


#: first characters that make Excel (and LibreOffice) read a cell as a formula
FORMULA_TRIGGERS = ("=", "+", "-", "@")


class TextType(FieldType):
    """Free text. A value that starts like a formula (``=cmd|…``, ``@SUM(1)``, ``-1+1``) is
    refused: it would run as one when the ledger or an export is opened in Excel."""

    name = "text"
    params = {"max_length": "最多字数"}

    def parse(self, raw, field, ctx):
        text = as_text(raw)
        if text.startswith(FORMULA_TRIGGERS):
            raise Invalid(Code.VALUE_FORMULA, value="…" if field.sensitive else text, char=text[0])
        limit = field.params.get("max_length")
        if limit and len(text) > limit:
            shown = text if not field.sensitive else "…"
            raise Invalid(Code.VALUE_TOO_LONG, value=shown, max=limit, length=len(text))
        return text


class IntegerType(FieldType):
    name = "integer"
    params = {"min": "最小值", "max": "最大值", "unit": "单位（如 人）"}

    def parse(self, raw, field, ctx):
        if isinstance(raw, bool):
            raise Invalid(Code.VALUE_NOT_INTEGER, value=raw)
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, int):
            value = raw
        else:
            text = nfkc(as_text(raw)).replace(",", "")
            unit = field.params.get("unit")
            if unit and text.endswith(unit):
                text = text[: -len(unit)].strip()
            if not re.fullmatch(r"[+-]?\d+", text):
                raise Invalid(Code.VALUE_NOT_INTEGER, value=as_text(raw))
            value = int(text)
        _check_range(value, field)
        return value


def _check_range(value, field):
    lo, hi = field.params.get("min"), field.params.get("max")
    if value < 0 and (lo is None or lo >= 0):
        raise Invalid(Code.VALUE_NEGATIVE, value=value)
    if lo is not None and value < lo:
        raise Invalid(Code.VALUE_TOO_SMALL, value=value, min=lo)
    if hi is not None and value > hi:
        raise Invalid(Code.VALUE_TOO_LARGE, value=value, max=hi)


class MoneyType(FieldType):
    name = "money"
    params = {"min": "最小值（元）", "max": "最大值（元）"}

    def parse(self, raw, field, ctx):
        text = nfkc(as_text(raw)).replace(",", "").replace("¥", "").replace("￥", "")
        text = text.removesuffix("元").strip()
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise Invalid(Code.VALUE_MONEY, value=as_text(raw)) from None
        if not value.is_finite() or value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):
            raise Invalid(Code.VALUE_MONEY, value=as_text(raw))
        value = value.quantize(Decimal("0.01"))
        _check_range(value, field)
        return value

    def display(self, value, field, ctx=None):
        if value is None:
            return ""
        return f"{value:.2f}".removesuffix(".00")


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(raw: Any) -> dt.date:
    """2022-06-01, 2022/6/1, 2022.6.1, 2022年6月1日, 20220601, an Excel date cell or serial."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and 20000 < raw < 80000:
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(raw))  # Excel serial date
    text = nfkc(as_text(raw)).replace(" ", "") if not isinstance(raw, str) else nfkc(raw.strip())
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                break
    raise Invalid(Code.VALUE_NOT_DATE, value=as_text(raw))


class DateType(FieldType):
    name = "date"
    params = {}

    def parse(self, raw, field, ctx):
        return parse_date(raw)

    def display(self, value, field, ctx=None):
        return "" if value is None else f"{value.year}年{value.month}月{value.day}日"


class IdNumberType(FieldType):
    name = "id_number"
    sensitive = "id_number"

    def parse(self, raw, field, ctx):
        from ..privacy import idcard
        from ..privacy import masking

        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            shown = masking.mask_id(f"{raw:.0f}")
            raise Invalid(Code.VALUE_EXCEL_NUMBER_ID, value=shown)
        try:
            return idcard.parse_id_number(as_text(raw), today=ctx.today).number
        except idcard.IdNumberInvalid as exc:
            problem = exc.problems[0]
            raise Invalid(problem.code, **problem.context) from None


class PhoneType(FieldType):
    name = "phone"
    sensitive = "phone"

    def parse(self, raw, field, ctx):
        from ..privacy import phone

        try:
            return phone.normalize_phone(as_text(raw))
        except phone.PhoneInvalid as exc:
            problem = exc.problems[0]
            raise Invalid(problem.code, **problem.context) from None


_CODE_SPLIT = re.compile(r"[,，、;；/\s]+")


def _code_tokens(text: str) -> list[str]:
    text = text.replace("和", "、").replace("及", "、")
    tokens: list[str] = []
    for part in _CODE_SPLIT.split(text):
        if not part:
            continue
        # "①②" or "③⑤": circled numerals written without separators
        if all(ch in CIRCLED[1:] for ch in part):
            tokens.extend(part)
        else:
            tokens.append(part)
    return tokens


def resolve_code(token: str, codes: list[CodeItem]) -> CodeItem | None:
    """A token → code: ③, 3, (3), 因病, 病 or an alias."""
    t = nfkc(token).strip("()（）.。 ")
    if token in CIRCLED[1:]:
        return next((c for c in codes if c.mark == token), None)
    if t.isdigit():
        return next((c for c in codes if c.no == int(t)), None)
    for c in codes:
        if t in (c.name, c.text, *c.aliases) or (c.name.startswith("因") and t == c.name[1:]):
            return c
    return None


class MultiChoiceType(FieldType):
    """Codes from one or more code lists: "①②", "1,5", "③、⑤", "因学、因病"."""

    name = "multi_choice"
    params = {"codes": "代码表（一个或多个）", "reason_field": "选择须写明原因的代码时，填写原因的字段"}
    multiple = True

    def parse(self, raw, field, ctx):
        allowed = [c for lid in field.code_lists for c in ctx.form.code_lists[lid].codes]
        every = ctx.form.all_codes()
        if isinstance(raw, (list, tuple)):
            tokens = [as_text(t) for t in raw]
        elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
            tokens = [as_text(raw)]
        else:
            tokens = _code_tokens(nfkc(as_text(raw)) if not any(ch in CIRCLED for ch in str(raw)) else as_text(raw))
        chosen: list[int] = []
        allowed_text = "、".join(c.mark for c in allowed)
        for token in tokens:
            code = resolve_code(token, allowed)
            if code is None:
                other = resolve_code(token, every)
                if other is not None:
                    raise Invalid(Code.VALUE_CODE_WRONG_GROUP, mark=other.mark, name=other.name,
                                  other=ctx.form.code_lists[other.list_id].title, label=field.label,
                                  allowed=allowed_text)
                names = [c.name for c in allowed]
                raise Invalid(Code.VALUE_BAD_CODE, value=token, known=allowed_text,
                              hint=did_you_mean(token, names))
            if code.no not in chosen:
                chosen.append(code.no)
        if not self.multiple and len(chosen) > 1:
            raise Invalid(Code.VALUE_BAD_CHOICE, value=as_text(raw), known=allowed_text, hint="（只能选一项）")
        chosen.sort()
        return tuple(chosen) if self.multiple else chosen[0]

    def display(self, value, field, ctx=None):
        if value is None or value == ():
            return ""
        nos = value if isinstance(value, tuple) else (value,)
        return "、".join(CIRCLED[n] if 0 < n < len(CIRCLED) else str(n) for n in nos)


class ChoiceType(MultiChoiceType):
    name = "choice"
    params = {"codes": "代码表", "options": "选项列表（不用代码表时）", "reason_field": MultiChoiceType.params["reason_field"]}
    multiple = False

    def parse(self, raw, field, ctx):
        options = field.params.get("options")
        if not options:
            return super().parse(raw, field, ctx)
        text = as_text(raw)
        if text in options:
            return text
        raise Invalid(Code.VALUE_BAD_CHOICE, value=text, known="、".join(options), hint=did_you_mean(text, options))

    def display(self, value, field, ctx=None):
        if field.params.get("options"):
            return "" if value is None else str(value)
        return super().display(value, field, ctx)


class AddressType(FieldType):
    """Address parts from separate columns; parts a county fixes (市、县) default to it."""

    name = "address"
    params = {"parts": "地址各级（province/city/county/township/village/group）",
              "optional_parts": "可不填的级别", "labels": "各级在表上印的名称"}

    def parse(self, raw, field, ctx):
        raw = raw if isinstance(raw, dict) else {}
        out: dict[str, str] = {}
        optional = set(field.params.get("optional_parts", ()))
        for part in field.params.get("parts", ()):
            value = raw.get(part)
            if is_empty(value) and ctx.county is not None:
                value = ctx.county.default_address().get(part)
            if is_empty(value):
                if field.required and part not in optional:
                    raise Invalid(Code.VALUE_REQUIRED, part_label=field.part_label(part))
                out[part] = ""
                continue
            out[part] = as_text(value)
            if out[part].startswith(FORMULA_TRIGGERS):
                raise Invalid(Code.VALUE_FORMULA, part_label=field.part_label(part), value=out[part],
                              char=out[part][0])
        return out

    def display(self, value, field, ctx=None):
        if not value:
            return ""
        return "".join(v for v in value.values() if v)


class TableType(FieldType):
    """A repeating table (e.g. 家庭成员): a list of rows, each parsed by its columns."""

    name = "table"
    params = {"columns": "各列（与字段同样的写法）", "min_rows": "最少行数", "max_rows": "最多行数（打印的行数）"}

    def parse(self, raw, field, ctx):
        if not isinstance(raw, list):
            raise Invalid(Code.VALUE_TABLE_NOT_LIST)
        rows = []
        for i, item in enumerate(raw, start=1):
            item = item if isinstance(item, dict) else {}
            row = {}
            for col in field.columns:
                cell = item.get(col.key, item.get(col.label))
                if is_empty(cell):
                    if col.required:
                        raise Invalid(Code.VALUE_REQUIRED, part_label=col.label, row=i)
                    row[col.key] = None
                    continue
                try:
                    row[col.key] = ctx.types[col.type].parse(cell, col, ctx)
                except Invalid as exc:
                    exc.part_label, exc.row = col.label, i
                    raise
            rows.append(row)
        lo, hi = field.params.get("min_rows"), field.params.get("max_rows")
        if lo is not None and len(rows) < lo:
            raise Invalid(Code.VALUE_TOO_SMALL, value=len(rows), min=lo)
        if hi is not None and len(rows) > hi:
            raise Invalid(Code.VALUE_TOO_LARGE, value=len(rows), max=hi)
        return rows


def jsonable(v: Any) -> Any:
    """A parsed value as JSON: dates as ISO text, money as a string, codes as a list,
    table rows and address parts recursively."""
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (tuple, list)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    return v


BUILTIN_TYPES: tuple[type[FieldType], ...] = (
    TextType, IntegerType, MoneyType, DateType, IdNumberType, PhoneType,
    ChoiceType, MultiChoiceType, AddressType, TableType,
)

__all__ = ["ADDRESS_PARTS", "BUILTIN_TYPES", "FieldType", "Invalid", "ParseContext", "parse_date"]
