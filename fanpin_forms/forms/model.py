"""The in-memory form model that every other part works from.

A :class:`FormSpec` is built from a YAML spec by :mod:`fanpin_forms.forms.spec` and never
changes afterwards. Renderers, the data loader, the checks and the scan reader only
read it. See ``form_specs/README.md`` for the YAML syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

CIRCLED = "⓪①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"

#: Signing marks a stage can ask for.
SIGN_MARKS = ("签字", "按手印", "盖章")

#: Standard address parts, their printed labels and the column headers clerks use.
ADDRESS_PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "province": ("省", ("省份", "省(区、市)")),
    "city": ("市(州)", ("市州", "市", "州", "地市")),
    "county": ("县(市区)", ("县", "县(市、区)", "县区", "区县", "县市区")),
    "township": ("乡(镇、街道)", ("乡镇(街道)", "乡镇", "乡镇(街道/社区)", "乡(镇)", "镇", "街道", "乡镇街道")),
    "village": ("村(社区)", ("村", "社区", "行政村", "村(居)", "村居")),
    "group": ("村民小组", ("组", "小组", "村民组", "自然村")),
}


def circled(no: int) -> str:
    return CIRCLED[no] if 0 < no < len(CIRCLED) else f"({no})"


@dataclass(frozen=True)
class CodeItem:
    """One entry of a code list, e.g. ⑥ 因病 (not :class:`fanpin_forms.errors.Code`, the message catalogue)."""

    no: int
    name: str
    text: str  # printed wording; may contain {policy.xxx} placeholders
    list_id: str
    needs_reason: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def mark(self) -> str:
        return circled(self.no)


@dataclass(frozen=True)
class CodeList:
    id: str
    title: str
    codes: tuple[CodeItem, ...]

    def by_no(self, no: int) -> CodeItem | None:
        return next((c for c in self.codes if c.no == no), None)

    @property
    def range_text(self) -> str:
        return "、".join(c.mark for c in self.codes)


@dataclass(frozen=True)
class Field:
    """A data field. ``params`` holds the type-specific settings (min, max, codes…)."""

    key: str
    label: str
    type: str
    required: bool = False
    help: str = ""
    aliases: tuple[str, ...] = ()
    sensitive: str | None = None  # None or a masking kind: id_number, phone, bank_account, health, text
    params: dict[str, Any] = field(default_factory=dict)
    columns: tuple[Field, ...] = ()  # for type "table"
    origin: str = ""  # "file:line" where it was defined, for messages

    @property
    def code_lists(self) -> tuple[str, ...]:
        codes = self.params.get("codes", ())
        return (codes,) if isinstance(codes, str) else tuple(codes)

    def part_label(self, part: str) -> str:
        labels = self.params.get("labels", {})
        return labels.get(part) or ADDRESS_PARTS[part][0]


@dataclass(frozen=True)
class Signer:
    role: str  # e.g. 入户核实人员; may contain {county.xxx}
    marks: tuple[str, ...]  # subset of SIGN_MARKS
    label: str = ""  # printed text when it is not "role（marks）："

    @property
    def printed(self) -> str:
        return self.label or f"{self.role}（{'、'.join(self.marks)}）："


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    text: str  # statement with {field} slots
    signers: tuple[Signer, ...]
    date: bool = True


@dataclass(frozen=True)
class Block:
    """One printed block of the form body, top to bottom.

    kind: ``text`` (paragraph with slots), ``stages`` (bordered table of the named
    stages), ``signature`` (one stage printed as a free signing block), ``table``
    (a repeating-table field).
    """

    kind: str
    value: Any
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FormSpec:
    id: str
    title: str
    version: str
    annex: str = ""
    paper: str = "A4"
    orientation: str = "portrait"
    copies: str = ""
    code_lists: dict[str, CodeList] = field(default_factory=dict)
    fields: tuple[Field, ...] = ()
    stages: tuple[Stage, ...] = ()
    layout: tuple[Block, ...] = ()
    notes: tuple[Any, ...] = ()  # str, or ("codes", list_id)
    source: str = ""  # the spec file
    plugin: str = ""  # the plugin that registered it
    kind: str = "form"  # "form": printable; "ledger": a data layout only (e.g. the case ledger), never printed

    def field(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)

    def stage(self, key: str) -> Stage | None:
        return next((s for s in self.stages if s.key == key), None)

    def all_codes(self) -> list[CodeItem]:
        return [c for cl in self.code_lists.values() for c in cl.codes]

    @property
    def sensitive_keys(self) -> set[str]:
        return {f.key for f in self.fields if f.sensitive}


PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?"
_REF = re.compile(rf"^(?P<names>{_NAME}(?:\s*,\s*{_NAME})*)(?::(?P<width>\d+))?$")


@dataclass(frozen=True)
class Ref:
    """A slot in printed text: ``{name}``, ``{name.part:width}`` or ``{a,b:width}``.

    Several names share one slot (annex 1's "我家因____" shows both code fields).
    ``county.*`` and ``policy.*`` names are values the county plugin supplies."""

    names: tuple[str, ...]
    width: int | None
    start: int
    end: int

    @property
    def name(self) -> str:
        return ",".join(self.names)

    @staticmethod
    def root_of(name: str) -> str:
        return name.split(".", 1)[0]

    @staticmethod
    def part_of(name: str) -> str | None:
        return name.split(".", 1)[1] if "." in name else None


def split_placeholders(text: str) -> list[str | Ref]:
    """Split printed text into literal strings and :class:`Ref` placeholders.

    Raises ValueError(text, why) for a malformed placeholder."""
    out: list[str | Ref] = []
    last = 0
    for m in PLACEHOLDER.finditer(text):
        ref = _REF.match(m.group(1).strip())
        if not ref:
            raise ValueError(m.group(0), "占位符应写作 {字段键}、{字段键:宽度} 或 {字段键1,字段键2:宽度}")
        if m.start() > last:
            out.append(text[last:m.start()])
        width = int(ref.group("width")) if ref.group("width") else None
        names = tuple(n.strip() for n in ref.group("names").split(","))
        out.append(Ref(names, width, m.start(), m.end()))
        last = m.end()
    if last < len(text):
        out.append(text[last:])
    return out
