"""A county's notice columns and wording (the ``register_notices`` hook), checked once.

A county may add columns of the case ledger to its notices, choose which columns each
notice shows and in what order, and reword a few sentences. It may never show a
sensitive column: a column whose spec says ``sensitive:`` (ID numbers, phones, bank
accounts, health details, or free text marked so), a table or an address is refused at
load, naming the column. Whatever it shows still goes through the leak guard, value by
value and file by file (see :mod:`fanpin_forms.cases.notices`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ...errors import Code, Problem, did_you_mean
from ...forms.model import FormSpec
from .rows import COLUMNS, VILLAGE_COLUMNS

#: sentences a county may reword: key → (what it is, the names it may use in braces)
WORDING: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType({
    "village_title": ("村级公示的标题", ("township", "village")),
    "village_objection": ("村级公示的异议办法", ("township", "village", "days")),
    "county_objection": ("县级公告的异议办法", ("approving_body",)),
    "county_closing": ("县级公告的结束语", ()),
})


@dataclass(frozen=True)
class NoticeStyle:
    """What a county's notices show beyond the built-in layout.

    ``extra``: (ledger key, heading) of each added column; ``village_columns`` /
    ``county_columns``: the columns of each notice in order (built-in names of
    :data:`~.rows.COLUMNS` or added keys), None for the built-in choice plus the added
    columns; ``wording``: :data:`WORDING` key → text, ``{village}`` … filled in."""

    extra: tuple[tuple[str, str], ...] = ()
    village_columns: tuple[str, ...] | None = None
    county_columns: tuple[str, ...] | None = None
    wording: Mapping[str, str] = field(default_factory=dict)

    def columns(self, kind: str) -> tuple[str, ...]:
        chosen = self.village_columns if kind == "village" else self.county_columns
        if chosen is not None:
            return chosen
        base = VILLAGE_COLUMNS if kind == "village" else tuple(c for c, _ in COLUMNS)
        return (*base, *(k for k, _ in self.extra))

    def headings(self) -> dict[str, str]:
        return {**dict(COLUMNS), **dict(self.extra)}

    def text(self, key: str, default: str, **values: object) -> str:
        """The county's wording of ``key`` with ``{name}`` filled in, or ``default``."""
        text = self.wording.get(key)
        if not text:
            return default
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text


DEFAULT_STYLE = NoticeStyle()


def notice_style(plugin: str, ledger: FormSpec, *, columns: Sequence[str] = (),
                 village_columns: Sequence[str] | None = None, county_columns: Sequence[str] | None = None,
                 wording: Mapping[str, str] | None = None) -> tuple[NoticeStyle | None, list[Problem]]:
    """The style one plugin registered, or the problems that make it unusable (every one of them)."""
    problems: list[Problem] = []

    def bad(why: str) -> None:
        problems.append(Problem(Code.PLUGIN_BAD_REGISTRATION, {"plugin": plugin, "what": "公示公告样式", "why": why}))

    extra = []
    for key in columns:
        f = ledger.field(str(key))
        if f is None:
            bad(f"列「{key}」不是监测对象台账的字段" + did_you_mean(str(key), [x.key for x in ledger.fields]))
        elif f.sensitive or f.type in ("table", "address", "id_number", "phone"):
            problems.append(Problem(Code.NOTICE_COLUMN_SENSITIVE, {"plugin": plugin, "key": f.key, "label": f.label}))
        else:
            extra.append((f.key, f.label))
    known = [c for c, _ in COLUMNS] + [k for k, _ in extra]
    for chosen in (village_columns, county_columns):
        for key in chosen or ():
            if key not in known:
                bad(f"公示列「{key}」不是内置列（{'、'.join(c for c, _ in COLUMNS)}）也不是 columns 中的列"
                    + did_you_mean(str(key), known))
    text = dict(wording or {})
    for key, value in text.items():
        if key not in WORDING:
            bad(f"措辞「{key}」不能修改（可改：{'、'.join(WORDING)}）" + did_you_mean(str(key), list(WORDING)))
        elif not isinstance(value, str) or not value.strip():
            bad(f"措辞「{key}」应为非空文字")
    if problems:
        return None, problems
    return NoticeStyle(tuple(extra), tuple(village_columns) if village_columns is not None else None,
                       tuple(county_columns) if county_columns is not None else None,
                       MappingProxyType(text)), []


__all__ = ["DEFAULT_STYLE", "WORDING", "NoticeStyle", "notice_style"]
