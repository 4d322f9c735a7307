"""YAML loading that remembers where every key and value stood.

PyYAML's ``safe_load`` forgets positions and silently keeps the last of two
duplicate keys. Spec errors must say ``file:line:column``, so we compose the node
tree ourselves and build plain dicts/lists that carry their marks:

* :class:`PosDict` — a ``dict`` with ``key_pos[key]`` and ``value_pos[key]``;
* :class:`PosList` — a ``list`` with ``item_pos[i]``;
* both have ``pos`` (where the collection starts).

Positions are ``(line, column)``, 1-based, as editors show them.

A spec is plain data, so only plain YAML is accepted, each refusal a
:class:`SpecError` at ``file:line:column`` (never a traceback, never a blow-up):
no anchors or aliases (``&a`` / ``*a``: the DSL never needs them, and aliases of
aliases expand a few hundred bytes into gigabytes), no merge keys (``<<``), no tags
beyond the core ones (``!!python/name:...`` and friends), at most
:data:`~fanpin_forms.util.limits.YAML_MAX_DEPTH` levels of nesting and
:data:`~fanpin_forms.util.limits.SPEC_MAX_BYTES` bytes per file.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..util import limits
from ..errors import Code, Location, Problem, SpecError
from ..util.limits import human_bytes

Pos = tuple[int, int]


class PosDict(dict):
    pos: Pos = (1, 1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_pos: dict[str, Pos] = {}
        self.value_pos: dict[str, Pos] = {}


class PosList(list):
    pos: Pos = (1, 1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.item_pos: list[Pos] = []


_CORE = "tag:yaml.org,2002:"
#: tags a spec may carry (explicitly or as resolved from a plain scalar)
ALLOWED_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq"))
#: tags a plain scalar resolves to that only mean something as a key (``<<``) or to no one (``=``)
_PLAIN_AS_TEXT = frozenset({_CORE + "merge", _CORE + "value"})


class SpecLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false, so ``no: 6`` stays a key
    named "no" and ``sign: on`` stays text (YAML 1.1 would read both as booleans).

    Composing refuses anchors, aliases and nesting deeper than the cap, before
    anything is built from them. ``spec_file`` names the file in the error."""

    spec_file = "?"
    _depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or event.anchor is not None:
            sign = "*" if isinstance(event, yaml.AliasEvent) else "&"
            raise _error(self.spec_file, event.start_mark, Code.SPEC_YAML_ALIAS, text=f"{sign}{event.anchor}")
        if self._depth >= limits.YAML_MAX_DEPTH:
            raise _error(self.spec_file, event.start_mark, Code.SPEC_YAML_DEPTH, max=limits.YAML_MAX_DEPTH)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    SpecLoader.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))


def _pos(node: yaml.Node) -> Pos:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _error(filename: str, mark, code: Code, **context: object) -> SpecError:
    return SpecError.of(code, Location(file=filename, line=mark.line + 1, column=mark.column + 1), **context)


def _shown_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag


class _Builder:
    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[Problem] = []
        self._constructor = SpecLoader("")  # only used to construct scalars

    def build(self, node: yaml.Node):
        plain = isinstance(node, yaml.ScalarNode) and node.style is None and node.tag in _PLAIN_AS_TEXT
        if node.tag not in ALLOWED_TAGS and not plain:
            raise _error(self.filename, node.start_mark, Code.SPEC_YAML_TAG, tag=_shown_tag(node.tag))
        if isinstance(node, yaml.MappingNode):
            out = PosDict()
            out.pos = _pos(node)
            for key_node, value_node in node.value:
                if key_node.tag == _CORE + "merge":
                    raise _error(self.filename, key_node.start_mark, Code.SPEC_YAML_MERGE)
                key = self.build(key_node)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    key = str(key)
                key = str(key)
                if key in out:
                    line, col = _pos(key_node)
                    self.problems.append(Problem(
                        Code.SPEC_DUPLICATE_KEY,
                        {"what": "键", "key": key, "first_line": out.key_pos[key][0]},
                        Location(file=self.filename, line=line, column=col)))
                    continue
                out[key] = self.build(value_node)
                out.key_pos[key] = _pos(key_node)
                out.value_pos[key] = _pos(value_node)
            return out
        if isinstance(node, yaml.SequenceNode):
            out_list = PosList()
            out_list.pos = _pos(node)
            for item in node.value:
                out_list.append(self.build(item))
                out_list.item_pos.append(_pos(item))
            return out_list
        if plain:
            return node.value
        try:
            return self._constructor.construct_object(node, deep=True)
        except Exception:  # noqa: BLE001 - !!int abc, a date like 2022-02-30: the value, not the program
            raise _error(self.filename, node.start_mark, Code.SPEC_YAML,
                         problem=f"「{node.value}」不是有效的{_KIND.get(node.tag, '值')}") from None


_KIND = {_CORE + "int": "整数", _CORE + "float": "数字", _CORE + "bool": "真/假值（true/false）",
         _CORE + "timestamp": "日期", _CORE + "null": "空值"}


def _reader_error(name: str, text: str, exc: yaml.reader.ReaderError) -> SpecError:
    """A control character in the text: PyYAML gives its offset, the user needs line and column."""
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    return SpecError.of(Code.SPEC_YAML, Location(file=name, line=line, column=column),
                        problem=f"不允许的控制字符 U+{exc.character:04X}")


def load_yaml(path: Path, display_name: str | None = None):
    """Load one YAML document with positions. Raises SpecError for syntax errors
    and duplicate keys (all of them at once)."""
    name = display_name or str(path)
    try:
        size = Path(path).stat().st_size
        if size > limits.SPEC_MAX_BYTES:
            raise SpecError.of(Code.SPEC_FILE_TOO_LARGE, Location(file=name),
                               size=human_bytes(size), max=human_bytes(limits.SPEC_MAX_BYTES))
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SpecError.of(Code.SPEC_FILE_MISSING, path=name) from None
    except UnicodeDecodeError as exc:
        raise SpecError.of(Code.SPEC_YAML, Location(file=name, line=1, column=1),
                           problem=f"文件不是 UTF-8 编码（{exc.reason}）") from None
    try:
        loader = SpecLoader(text)  # checks for control characters at once
    except yaml.reader.ReaderError as exc:
        raise _reader_error(name, text, exc) from None
    loader.spec_file = name
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(file=name, line=mark.line + 1, column=mark.column + 1) if mark else Location(file=name)
        raise SpecError.of(Code.SPEC_YAML, loc, problem=exc.problem or str(exc)) from None
    finally:
        loader.dispose()
    if node is None:
        return PosDict()
    builder = _Builder(name)
    data = builder.build(node)
    if builder.problems:
        raise SpecError(builder.problems)
    return data
