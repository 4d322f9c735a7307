"""Form specs: YAML → validated :class:`~fanpin_forms.forms.model.FormSpec`.

``load_spec`` reports *every* problem of a file at once as ``file:line:column:
message`` (unknown key with a did-you-mean, unknown type, duplicate key, reference
to an undefined field, code list or stage) and refuses to return a half-valid spec.

A spec is either a whole form (``form: annex2``) or an extension of one
(``extends: annex2``) that adds fields, code lists, printed blocks and notes; see
``form_specs/README.md``. Extensions are applied by :func:`apply_extension`.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field, replace
from pathlib import Path
from typing import Any

from ..errors import Code, Location, Problem, SpecError, did_you_mean
from .fieldtypes import FieldType
from .model import (
    ADDRESS_PARTS, SIGN_MARKS, Block, CodeItem, CodeList, Field, FormSpec, Ref, Signer, Stage,
    split_placeholders,
)
from .yamlpos import PosDict, PosList, load_yaml

FORM_KEYS = {"form", "title", "annex", "version", "paper", "copies", "include", "code_lists", "fields",
             "stages", "layout", "notes", "kind"}
#: values of the optional top-level ``kind:`` key; "ledger" specs describe data only and are never printed
FORM_KINDS = ("form", "ledger")
EXTENSION_KEYS = {"extends", "version", "place", "include", "code_lists", "fields", "layout", "notes"}
#: where an extension's printed lines go: above the stage table (the header area) or below it
PLACES = ("header", "after_stages")
#: files a spec may include (``include: [shared/code_lists.yaml]``)
MAX_INCLUDES = 8
FIELD_KEYS = {"key", "label", "type", "required", "help", "aliases", "sensitive"}
CODE_LIST_KEYS = {"title", "codes"}
CODE_KEYS = {"no", "name", "text", "needs_reason", "aliases"}
STAGE_KEYS = {"key", "title", "text", "signers", "date"}
SIGNER_KEYS = {"role", "sign", "label"}
PAPER_KEYS = {"size", "orientation"}
BLOCK_KINDS = {"text", "stages", "signature", "table"}
BLOCK_OPTIONS = {"indent", "align", "bold", "size", "space_before"}
SENSITIVE_KINDS = {"id_number", "phone", "bank_account", "health", "text"}
#: placeholders that are not fields: values a county supplies
POLICY_ROOTS = {"county", "policy"}


@dataclass
class FormExtension:
    """What an ``extends:`` spec adds to a form."""

    extends: str
    fields: tuple[Field, ...] = ()
    code_lists: dict[str, CodeList] = dc_field(default_factory=dict)
    layout: tuple[Block, ...] = ()
    notes: tuple[Any, ...] = ()
    source: str = ""
    plugin: str = ""
    #: the extension's own layout version, appended to the base form's (``2022.2+pj1``)
    version: str = ""
    place: str = "header"
    pos: tuple[int, int] = (1, 1)
    positions: tuple = ()  # (fields, layout) with YAML positions, to check against the base form


def _type_name(value: Any) -> str:
    return {dict: "映射", PosDict: "映射", list: "列表", PosList: "列表", str: "文字", int: "整数",
            float: "小数", bool: "是/否", type(None): "空值"}.get(type(value), type(value).__name__)


class _Checker:
    """Collects problems with positions while walking the YAML tree."""

    def __init__(self, filename: str, types: dict[str, FieldType]):
        self.file = filename
        self.types = types
        self.problems: list[Problem] = []

    def err(self, code: Code, pos: tuple[int, int] | None, **context: Any) -> None:
        line, col = pos or (1, 1)
        self.problems.append(Problem(code, context, Location(file=self.file, line=line, column=col)))

    def keys(self, d: PosDict, allowed: set[str], required: set[str], where: str) -> None:
        for key in d:
            if key not in allowed:
                hint = did_you_mean(key, sorted(allowed))
                self.err(Code.SPEC_UNKNOWN_KEY, d.key_pos.get(key), key=key, where=where, hint=hint)
        for key in sorted(required - d.keys()):
            self.err(Code.SPEC_MISSING_KEY, d.pos, key=key, where=where)

    def mapping(self, value: Any, pos, what: str) -> PosDict | None:
        if isinstance(value, PosDict):
            return value
        self.err(Code.SPEC_NOT_MAPPING, pos, what=what, actual=_type_name(value))
        return None

    def listing(self, value: Any, pos, what: str) -> PosList | None:
        if isinstance(value, PosList):
            return value
        self.err(Code.SPEC_NOT_LIST, pos, what=what, actual=_type_name(value))
        return None

    def mappings(self, raw: Any, pos, what: str, item_what: str):
        """Yield (index, PosDict) for each item of a list of mappings; report the rest."""
        items = self.listing(raw, pos, what)
        for i, item in enumerate(items or ()):
            d = self.mapping(item, items.item_pos[i], item_what.format(n=i + 1))
            if d is not None:
                yield i, d

    def text(self, d: PosDict, key: str, what: str, default: str = "") -> str:
        value = d.get(key, default)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.err(Code.SPEC_NOT_STRING, d.value_pos.get(key, d.pos), what=what, actual=_type_name(value))
            return default
        return value.strip()

    def boolean(self, d: PosDict, key: str, what: str, default: bool = False) -> bool:
        value = d.get(key, default)
        if not isinstance(value, bool):
            self.err(Code.SPEC_BAD_VALUE, d.value_pos.get(key), what=what, value=value, why="应为 true 或 false")
            return default
        return value

    def strings(self, d: PosDict, key: str, what: str) -> tuple[str, ...]:
        value = d.get(key, ())
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int)) for v in value):
            self.err(Code.SPEC_NOT_LIST, d.value_pos.get(key), what=what, actual=_type_name(value))
            return ()
        return tuple(str(v) for v in value)

    # -- pieces ---------------------------------------------------------------

    def all_code_lists(self, root: PosDict, spec_path: Path) -> dict[str, CodeList]:
        """The spec's own ``code_lists`` and those of the files it ``include``s: code-list
        files (only a ``code_lists:`` key) beside the spec or below its folder."""
        out: dict[str, CodeList] = {}
        defined_in: dict[str, str] = {}
        raw = root.get("include")
        if raw is not None:
            names = self.listing(raw, root.value_pos.get("include"), "include") or PosList()
            if len(names) > MAX_INCLUDES:
                self.err(Code.SPEC_BAD_VALUE, root.value_pos.get("include"), what="include", value=len(names),
                         why=f"最多包含 {MAX_INCLUDES} 个文件")
                names = PosList()
            folder = spec_path.parent.resolve()
            for i, name in enumerate(names):
                pos = names.item_pos[i]
                target = (folder / str(name)).resolve() if isinstance(name, str) else None
                if target is None or not target.is_relative_to(folder) or not target.is_file():
                    self.err(Code.SPEC_INCLUDE_BAD, pos, name=name)
                    continue
                display = str(Path(self.file).parent / str(name))
                outer, self.file = self.file, display
                try:
                    data = load_yaml(target, display)
                    body = self.mapping(data, getattr(data, "pos", (1, 1)), "代码表文件")
                    if body is not None:
                        self.keys(body, {"code_lists"}, {"code_lists"}, "代码表文件")
                        for list_id, cl in self.code_lists(body.get("code_lists", PosDict()),
                                                           body.value_pos.get("code_lists")).items():
                            out[list_id], defined_in[list_id] = cl, display
                except SpecError as exc:
                    self.problems.extend(exc.problems)
                finally:
                    self.file = outer
        own = self.code_lists(root.get("code_lists", PosDict()), root.value_pos.get("code_lists"))
        lists = root.get("code_lists")
        for list_id in own.keys() & out.keys():
            self.err(Code.SPEC_CODE_LIST_TWICE, lists.key_pos.get(list_id) if isinstance(lists, PosDict) else None,
                     name=list_id, other=defined_in[list_id])
        return {**out, **own}

    def code_lists(self, raw: Any, pos) -> dict[str, CodeList]:
        out: dict[str, CodeList] = {}
        lists = self.mapping(raw, pos, "code_lists")
        if lists is None:
            return out
        seen_no: dict[int, str] = {}
        for list_id, body in lists.items():
            where = f"代码表 {list_id}"
            body = self.mapping(body, lists.value_pos[list_id], where)
            if body is None:
                continue
            self.keys(body, CODE_LIST_KEYS, {"title", "codes"}, where)
            codes: list[CodeItem] = []
            for i, item in self.mappings(body.get("codes", PosList()), body.value_pos.get("codes", body.pos),
                                         f"{where} 的 codes", f"{where} 的第 {{n}} 项"):
                self.keys(item, CODE_KEYS, {"no", "name"}, f"{where} 的第 {i + 1} 项")
                no = item.get("no")
                if not isinstance(no, int) or isinstance(no, bool) or no < 1:
                    self.err(Code.SPEC_BAD_VALUE, item.value_pos.get("no", item.pos), what="no", value=no, why="应为正整数")
                    continue
                if no in seen_no:
                    self.err(Code.SPEC_DUPLICATE_CODE, item.value_pos["no"], no=no, list_a=seen_no[no], list_b=list_id)
                seen_no[no] = list_id
                name = self.text(item, "name", "name")
                codes.append(CodeItem(no=no, name=name, text=self.text(item, "text", "text", name) or name,
                                      list_id=list_id, needs_reason=self.boolean(item, "needs_reason", "needs_reason"),
                                      aliases=self.strings(item, "aliases", "aliases")))
            out[list_id] = CodeList(list_id, self.text(body, "title", "title"), tuple(codes))
        return out

    def field(self, d: Any, pos, where: str) -> Field | None:
        d = self.mapping(d, pos, where)
        if d is None:
            return None
        key = d.get("key") if isinstance(d.get("key"), str) else None
        where = f"字段 {key}" if key else where
        type_name = d.get("type")
        ftype = self.types.get(type_name) if isinstance(type_name, str) else None
        allowed = FIELD_KEYS | set(ftype.params if ftype else ())
        self.keys(d, allowed if ftype else allowed | set(d), {"key", "label", "type"}, where)
        if "type" in d and ftype is None:
            self.err(Code.SPEC_UNKNOWN_TYPE, d.value_pos["type"], type=type_name,
                     hint=did_you_mean(str(type_name), sorted(self.types)), known="、".join(sorted(self.types)))
        if key is None:
            if "key" in d:
                self.err(Code.SPEC_NOT_STRING, d.value_pos["key"], what="key", actual=_type_name(d["key"]))
            return None
        sensitive = d.get("sensitive", False)
        if sensitive is True:
            sensitive = (ftype.sensitive if ftype else None) or "text"
        elif sensitive is False:
            sensitive = ftype.sensitive if ftype else None
        elif sensitive not in SENSITIVE_KINDS:
            self.err(Code.SPEC_BAD_VALUE, d.value_pos["sensitive"], what="sensitive", value=sensitive,
                     why="应为 true、false 或 " + "、".join(sorted(SENSITIVE_KINDS)))
            sensitive = "text"
        params = {k: v for k, v in d.items() if k not in FIELD_KEYS}
        columns: tuple[Field, ...] = ()
        if type_name == "table":
            cols_raw = self.listing(params.pop("columns", None), d.value_pos.get("columns", d.pos), f"{where} 的 columns")
            cols = [self.field(c, cols_raw.item_pos[i], f"{where} 的第 {i + 1} 列") for i, c in enumerate(cols_raw or ())]
            columns = tuple(c for c in cols if c)
            self._unique([(c.key, None) for c in columns], "列")
        if type_name == "address":
            self._address_params(d, params, where)
        return Field(
            key=key, label=self.text(d, "label", "label"), type=str(type_name), required=self.boolean(d, "required", "required"),
            help=self.text(d, "help", "help"), aliases=self.strings(d, "aliases", "aliases"), sensitive=sensitive,
            params=params, columns=columns, origin=f"{self.file}:{d.pos[0]}",
        )

    def _address_params(self, d: PosDict, params: dict, where: str) -> None:
        parts = params.get("parts", list(ADDRESS_PARTS))
        if not isinstance(parts, list):
            self.err(Code.SPEC_NOT_LIST, d.value_pos.get("parts"), what=f"{where} 的 parts", actual=_type_name(parts))
            parts = []
        for name in [*parts, *params.get("optional_parts", []), *params.get("labels", {})]:
            if name not in ADDRESS_PARTS:
                self.err(Code.SPEC_BAD_VALUE, d.value_pos.get("parts", d.pos), what=f"{where} 的地址级别", value=name,
                         why="可用：" + "、".join(ADDRESS_PARTS) + did_you_mean(str(name), list(ADDRESS_PARTS)))
        params["parts"] = tuple(p for p in parts if p in ADDRESS_PARTS)
        params["optional_parts"] = tuple(params.get("optional_parts", ()))
        params["labels"] = dict(params.get("labels", {}))

    def _unique(self, items: list[tuple[str, Any]], what: str, positions: dict | None = None) -> None:
        first: dict[str, Any] = {}
        for key, pos in items:
            if key in first:
                self.err(Code.SPEC_DUPLICATE_KEY, pos, what=what, key=key, first_line=(first[key] or (0,))[0])
            else:
                first[key] = pos

    def fields(self, raw: Any, pos) -> list[tuple[Field, PosDict]]:
        items = self.listing(raw, pos, "fields")
        out = []
        for i, item in enumerate(items or ()):
            f = self.field(item, items.item_pos[i], f"第 {i + 1} 个字段")
            if f:
                out.append((f, item))
        self._unique([(f.key, d.value_pos.get("key", d.pos)) for f, d in out], "字段")
        return out

    def stages(self, raw: Any, pos) -> list[tuple[Stage, PosDict]]:
        out = []
        for i, d in self.mappings(raw, pos, "stages", "第 {n} 个环节"):
            where = f"第 {i + 1} 个环节"
            self.keys(d, STAGE_KEYS, {"key", "title"}, where)
            signers = []
            for _, s in self.mappings(d.get("signers", PosList()), d.value_pos.get("signers", d.pos),
                                      f"{where} 的 signers", f"{where} 的第 {{n}} 位签字人"):
                self.keys(s, SIGNER_KEYS, {"role", "sign"}, f"{where} 的签字人")
                marks = self.strings(s, "sign", "sign")
                for m in marks:
                    if m not in SIGN_MARKS:
                        self.err(Code.SPEC_BAD_VALUE, s.value_pos.get("sign"), what="sign", value=m,
                                 why="可用：" + "、".join(SIGN_MARKS) + did_you_mean(m, SIGN_MARKS))
                signers.append(Signer(self.text(s, "role", "role"), marks, self.text(s, "label", "label")))
            stage = Stage(key=self.text(d, "key", "key"), title=self.text(d, "title", "title"),
                          text=self.text(d, "text", "text"), signers=tuple(signers),
                          date=self.boolean(d, "date", "date", True))
            out.append((stage, d))
        self._unique([(s.key, d.value_pos.get("key")) for s, d in out], "环节")
        return out

    def layout(self, raw: Any, pos) -> list[tuple[Block, PosDict]]:
        items = self.listing(raw, pos, "layout")
        out = []
        for i, item in enumerate(items or ()):
            where = f"layout 第 {i + 1} 项"
            if isinstance(item, str):
                d = PosDict(text=item)
                d.pos = items.item_pos[i]
                d.value_pos["text"] = d.key_pos["text"] = d.pos
                item = d
            d = self.mapping(item, items.item_pos[i], where)
            if d is None:
                continue
            kinds = [k for k in d if k in BLOCK_KINDS]
            self.keys(d, BLOCK_KINDS | BLOCK_OPTIONS, set(), where)
            if len(kinds) != 1:
                self.err(Code.SPEC_BAD_VALUE, d.pos, what=where, value="、".join(kinds) or "（无）",
                         why="每项必须恰好有 text、stages、signature、table 之一")
                continue
            kind = kinds[0]
            value = d[kind]
            if kind == "stages" and value != "all":
                value = self.strings(d, "stages", "stages")
            elif kind != "stages" and not isinstance(value, str):
                self.err(Code.SPEC_NOT_STRING, d.value_pos[kind], what=kind, actual=_type_name(value))
                continue
            options = {k: d[k] for k in d if k in BLOCK_OPTIONS}
            out.append((Block(kind, value, options), d))
        return out

    def notes(self, raw: Any, pos) -> list[tuple[Any, tuple[int, int]]]:
        items = self.listing(raw, pos, "notes")
        out = []
        for i, item in enumerate(items or ()):
            ipos = items.item_pos[i]
            if isinstance(item, str):
                out.append((item, ipos))
            elif isinstance(item, PosDict) and set(item) == {"codes"} and isinstance(item["codes"], str):
                out.append((("codes", item["codes"]), item.value_pos["codes"]))
            else:
                self.err(Code.SPEC_BAD_VALUE, ipos, what=f"notes 第 {i + 1} 项", value=_short(item),
                         why="应为一段文字，或 {codes: 代码表}")
        return out

    # -- cross references -----------------------------------------------------

    def refs(self, text: str, pos, fields: dict[str, Field]) -> None:
        try:
            parts = split_placeholders(text)
        except ValueError as exc:
            self.err(Code.SPEC_BAD_PLACEHOLDER, pos, text=exc.args[0], why=exc.args[1])
            return
        for ref in (p for p in parts if isinstance(p, Ref)):
            for name in ref.names:
                root, part = Ref.root_of(name), Ref.part_of(name)
                if root in POLICY_ROOTS:
                    continue
                f = fields.get(root)
                if f is None:
                    self.err(Code.SPEC_UNDEFINED_FIELD, pos, name=name, hint=did_you_mean(root, list(fields)))
                elif part is not None and (f.type != "address" or part not in f.params.get("parts", ())):
                    valid = [f"{f.key}.{p}" for p in f.params.get("parts", ())]
                    self.err(Code.SPEC_UNDEFINED_FIELD, pos, name=name, hint=did_you_mean(name, valid))

    def field_refs(self, fields: list[tuple[Field, PosDict]], all_fields: dict[str, Field],
                   code_lists: dict[str, CodeList]) -> None:
        for f, d in fields:
            if f.type not in ("choice", "multi_choice"):
                continue
            for lid in f.code_lists:
                if lid not in code_lists:
                    self.err(Code.SPEC_UNDEFINED_CODE_LIST, d.value_pos.get("codes", d.pos), name=lid,
                             hint=did_you_mean(lid, list(code_lists)))
            if not f.code_lists and not f.params.get("options"):
                self.err(Code.SPEC_MISSING_KEY, d.pos, key="codes", where=f"字段 {f.key}")
            reason = f.params.get("reason_field")
            if reason is not None and reason not in all_fields:
                self.err(Code.SPEC_UNDEFINED_FIELD, d.value_pos.get("reason_field", d.pos), name=reason,
                         hint=did_you_mean(str(reason), list(all_fields)))


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 30 else text[:30] + "…"


def load_spec(path: Path | str, types: dict[str, FieldType], *, display_name: str | None = None,
              plugin: str = "") -> FormSpec | FormExtension:
    """Load and validate one spec file. Raises SpecError listing every problem."""
    name = display_name or str(path)
    data = load_yaml(Path(path), name)
    c = _Checker(name, types)
    root = c.mapping(data, getattr(data, "pos", (1, 1)), "表单定义文件")
    if root is None:
        raise SpecError(c.problems)
    if "extends" in root and "form" not in root:
        return _load_extension(root, c, name, plugin, Path(path))
    c.keys(root, FORM_KEYS, {"form", "title", "version", "fields"}, "表单")
    code_lists = c.all_code_lists(root, Path(path))
    fields = c.fields(root.get("fields", PosList()), root.value_pos.get("fields", root.pos))
    field_map = {f.key: f for f, _ in fields}
    c.field_refs(fields, field_map, code_lists)
    stages = c.stages(root.get("stages", PosList()), root.value_pos.get("stages", root.pos))
    for stage, d in stages:
        c.refs(stage.text, d.value_pos.get("text", d.pos), field_map)
        for s in stage.signers:
            c.refs(s.role, d.value_pos.get("signers", d.pos), field_map)
    stage_keys = [s.key for s, _ in stages]
    layout = c.layout(root.get("layout", PosList()), root.value_pos.get("layout", root.pos))
    _check_layout(c, layout, field_map, stage_keys)
    notes = c.notes(root.get("notes", PosList()), root.value_pos.get("notes", root.pos))
    for note, pos in notes:
        if isinstance(note, tuple) and note[1] not in code_lists:
            c.err(Code.SPEC_UNDEFINED_CODE_LIST, pos, name=note[1], hint=did_you_mean(note[1], list(code_lists)))
    for code in (code for cl in code_lists.values() for code in cl.codes):
        c.refs(code.text, root.value_pos.get("code_lists"), field_map)
    paper = root.get("paper", PosDict())
    size, orientation = "A4", "portrait"
    if isinstance(paper, PosDict):
        c.keys(paper, PAPER_KEYS, set(), "paper")
        size = c.text(paper, "size", "paper.size", "A4")
        orientation = c.text(paper, "orientation", "paper.orientation", "portrait")
        if size not in ("A4", "A3", "B5"):
            c.err(Code.SPEC_BAD_VALUE, paper.value_pos.get("size"), what="paper.size", value=size, why="可用：A4、A3、B5")
        if orientation not in ("portrait", "landscape"):
            c.err(Code.SPEC_BAD_VALUE, paper.value_pos.get("orientation"), what="paper.orientation",
                  value=orientation, why="可用：portrait（纵向）、landscape（横向）")
    kind = c.text(root, "kind", "kind", "form")
    if kind not in FORM_KINDS:
        c.err(Code.SPEC_BAD_VALUE, root.value_pos.get("kind"), what="kind", value=kind,
              why="可用：form（可打印的表单）、ledger（台账，只描述数据）" + did_you_mean(kind, FORM_KINDS))
    if c.problems:
        raise SpecError(c.problems)
    return FormSpec(
        id=c.text(root, "form", "form"), title=c.text(root, "title", "title"), version=c.text(root, "version", "version"),
        annex=c.text(root, "annex", "annex"), paper=size, orientation=orientation, copies=c.text(root, "copies", "copies"),
        code_lists=code_lists, fields=tuple(f for f, _ in fields), stages=tuple(s for s, _ in stages),
        layout=tuple(b for b, _ in layout), notes=tuple(n for n, _ in notes), source=name, plugin=plugin,
        kind=kind,
    )


def _check_layout(c: _Checker, layout, field_map: dict[str, Field], stage_keys: list[str]) -> None:
    for block, d in layout:
        pos = d.value_pos.get(block.kind, d.pos)
        if block.kind == "text":
            c.refs(block.value, pos, field_map)
        elif block.kind in ("stages", "signature"):
            names = [] if block.value == "all" else ([block.value] if isinstance(block.value, str) else block.value)
            for name in names:
                if name not in stage_keys:
                    c.err(Code.SPEC_UNDEFINED_STAGE, pos, name=name, hint=did_you_mean(name, stage_keys))
        elif block.kind == "table":
            f = field_map.get(block.value)
            if f is None or f.type != "table":
                tables = [k for k, v in field_map.items() if v.type == "table"]
                c.err(Code.SPEC_UNDEFINED_FIELD, pos, name=block.value, hint=did_you_mean(block.value, tables))


def _load_extension(root: PosDict, c: _Checker, name: str, plugin: str, path: Path) -> FormExtension:
    c.keys(root, EXTENSION_KEYS, {"extends"}, "扩展")
    code_lists = c.all_code_lists(root, path)
    fields = c.fields(root.get("fields", PosList()), root.value_pos.get("fields", root.pos))
    layout = c.layout(root.get("layout", PosList()), root.value_pos.get("layout", root.pos))
    notes = c.notes(root.get("notes", PosList()), root.value_pos.get("notes", root.pos))
    version = c.text(root, "version", "version")
    if (layout or notes) and not version:
        c.err(Code.SPEC_EXTENSION_VERSION, root.pos)
    place = c.text(root, "place", "place", "header")
    if place not in PLACES:
        c.err(Code.SPEC_BAD_VALUE, root.value_pos.get("place", root.pos), what="place", value=place,
              why="应为 " + " 或 ".join(PLACES) + did_you_mean(place, PLACES))
    if c.problems:
        raise SpecError(c.problems)
    ext = FormExtension(extends=c.text(root, "extends", "extends"), fields=tuple(f for f, _ in fields),
                        version=version, place=place,
                        code_lists=code_lists, layout=tuple(b for b, _ in layout), notes=tuple(n for n, _ in notes),
                        source=name, plugin=plugin, pos=root.value_pos["extends"], positions=(fields, layout))
    return ext


def apply_extension(base: FormSpec, ext: FormExtension, types: dict[str, FieldType]) -> FormSpec:
    """Add an extension's fields, code lists, blocks and notes to a form.

    New printed blocks go just before the first stage table (``place: header``, the
    default) or right after the last one (``place: after_stages``); an extension that
    prints something gives the form a new version (``base+ext``), so its QR codes and
    read-back reference pages are told apart from the base form's.
    Raises SpecError (at the extension's file and lines) for clashes or bad references."""
    c = _Checker(ext.source, types)
    fields_pos, layout_pos = ext.positions
    code_lists = {**base.code_lists, **ext.code_lists}
    existing = {f.key: f for f in base.fields}
    for f, d in fields_pos:
        if f.key in existing:
            c.err(Code.SPEC_DUPLICATE_KEY, d.value_pos.get("key", d.pos), what="字段", key=f.key, first_line=existing[f.key].origin.rsplit(":", 1)[-1])
    field_map = {**existing, **{f.key: f for f in ext.fields}}
    c.field_refs(fields_pos, field_map, code_lists)
    _check_layout(c, layout_pos, field_map, [s.key for s in base.stages])
    if c.problems:
        raise SpecError(c.problems)
    layout = list(base.layout)
    tables = [i for i, b in enumerate(layout) if b.kind in ("stages", "signature")]
    if ext.place == "after_stages":
        at = tables[-1] + 1 if tables else len(layout)
    else:
        at = tables[0] if tables else len(layout)
    layout[at:at] = ext.layout
    version = f"{base.version}+{ext.version}" if ext.version else base.version
    return replace(base, fields=base.fields + ext.fields, code_lists=code_lists, layout=tuple(layout),
                   notes=base.notes + ext.notes, version=version)
