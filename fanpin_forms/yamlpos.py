"""YAML loading that remembers where every key and value stood.

PyYAML's ``safe_load`` forgets positions and silently keeps the last of two
duplicate keys. Spec errors must say ``file:line:column``, so we compose the node
tree ourselves and build plain dicts/lists that carry their marks:

* :class:`PosDict` — a ``dict`` with ``key_pos[key]`` and ``value_pos[key]``;
* :class:`PosList` — a ``list`` with ``item_pos[i]``;
* both have ``pos`` (where the collection starts).

Positions are ``(line, column)``, 1-based, as editors show them.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .errors import Code, Location, Problem, SpecError

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


class SpecLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false, so ``no: 6`` stays a key
    named "no" and ``sign: on`` stays text (YAML 1.1 would read both as booleans)."""


SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    SpecLoader.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))


def _pos(node: yaml.Node) -> Pos:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[Problem] = []
        self._constructor = SpecLoader("")  # only used to construct scalars

    def build(self, node: yaml.Node):
        if isinstance(node, yaml.MappingNode):
            out = PosDict()
            out.pos = _pos(node)
            for key_node, value_node in node.value:
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
        return self._constructor.construct_object(node, deep=True)


def load_yaml(path: Path, display_name: str | None = None):
    """Load one YAML document with positions. Raises SpecError for syntax errors
    and duplicate keys (all of them at once)."""
    name = display_name or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SpecError.of(Code.SPEC_FILE_MISSING, path=name) from None
    except UnicodeDecodeError as exc:
        raise SpecError.of(Code.SPEC_YAML, Location(file=name, line=1, column=1),
                           problem=f"文件不是 UTF-8 编码（{exc.reason}）") from None
    try:
        node = yaml.compose(text, Loader=SpecLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(file=name, line=mark.line + 1, column=mark.column + 1) if mark else Location(file=name)
        raise SpecError.of(Code.SPEC_YAML, loc, problem=exc.problem or str(exc)) from None
    if node is None:
        return PosDict()
    builder = _Builder(name)
    data = builder.build(node)
    if builder.problems:
        raise SpecError(builder.problems)
    return data
