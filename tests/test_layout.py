"""The package's shape: no import cycle, no layer reaching up, one printed-page protocol.

The imports are read with ``ast`` from the source (nothing is imported), every
``import`` statement counts wherever it is — inside a function, or under
``TYPE_CHECKING`` — because a cycle hidden there is still a cycle in the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "fanpin_forms"

#: layers that sit below the pipelines: they must not import what is built on them
LOW = ("forms", "privacy", "util", "office", "pagemark")
#: what low layers must not import
PIPELINES_AND_UP = ("intake", "render", "readback", "cases", "ledger", "cli", "app")
#: the only importers of the application object (the composition root and its callers)
MAY_IMPORT_APP = ("cli", "app", "plugins", "default_plugins", "testing")

def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(path: Path, name: str) -> set[str]:
    """Every fanpin_forms module ``name`` imports (names relative to the package root)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = name.split(".") if name else []
    pkg = here if _is_package(path) else here[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "fanpin_forms" or alias.name.startswith("fanpin_forms."):
                    out.add(alias.name.removeprefix("fanpin_forms").lstrip("."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[:len(pkg) - (node.level - 1)] if node.level > 1 else list(pkg)
                if node.level - 1 > len(pkg):
                    continue  # above the package: not ours
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and (node.module == "fanpin_forms" or node.module.startswith("fanpin_forms.")):
                target = node.module.split(".")[1:]
            else:
                continue
            mod = ".".join(target)
            out.add(mod)
            for alias in node.names:  # ``from . import marks`` imports the module marks
                out.add(f"{mod}.{alias.name}" if mod else alias.name)
    return out


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps = set()
        for target in _imports(path, name):
            # ``from .x import y``: y may be a name in x, not a module: keep what exists
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


GRAPH = _graph()


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _package_edges_ignored(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A module importing its own package (whose ``__init__`` re-exports it) is not a
    cycle."""
    return {m: {d for d in deps if not (d and m.startswith(d + "."))}
            for m, deps in graph.items()}


def test_the_graph_is_read():
    # the walker sees what is known to be there: a test that cannot fail is a defect
    assert "readback.run" in GRAPH and "readback.assemble" in GRAPH["readback.run"]
    assert "pagemark" in GRAPH["readback.identify"]
    assert "readback.marks" in GRAPH["readback.scanpage"]  # ``from . import marks``
    assert "app" in GRAPH["cli.readback"]


def test_no_import_cycle():
    assert _cycles(_package_edges_ignored(GRAPH)) == []


def test_the_cycle_finder_finds_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_under_type_checking_and_in_functions_count(tmp_path):
    src = tmp_path / "headerscan.py"
    src.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .scanpage import PageReading\n"
                   "def f():\n    from ..render.qr import qr_matrix\n    import fanpin_forms.app\n", encoding="utf-8")
    got = _imports(src, "readback.headerscan")
    assert {"readback.scanpage", "render.qr", "app"} <= got


def _violations(rule) -> list[tuple[str, str]]:
    bad = []
    for mod, deps in GRAPH.items():
        for dep in deps:
            if rule(mod, dep) :
                bad.append((mod, dep))
    return sorted(bad)


def test_low_layers_do_not_reach_up():
    assert _violations(lambda m, d: _top(m) in LOW and _top(d) in PIPELINES_AND_UP) == []


def test_readback_depends_on_pagemark_not_render():
    assert _violations(lambda m, d: _top(m) == "readback" and _top(d) in ("render", "cli", "app")) == []


def test_the_ledger_sits_below_the_interfaces():
    assert _violations(lambda m, d: _top(m) == "ledger" and _top(d) in ("render", "readback", "cli", "app")) == []


def test_only_the_composition_root_imports_app():
    assert _violations(lambda m, d: d == "app" and _top(m) not in MAY_IMPORT_APP) == []


@pytest.mark.parametrize("payload", [
    "FPF2|annex2|2022.1|C:YY-0001|1/1|K7Q2M4XA",
    "FPF2|annex1|2022.1|S:annex1-20220601-12|2/3|ABCDEFGH",
    "FPF2|annex3|2022.1|C:%E5%B2%B3%E9%98%B3-RJW-0001-0001|1/2|ABCDEFGH",
])
def test_qr_size_without_drawing_matches_the_drawn_code(payload):
    from fanpin_forms.pagemark import qr_modules
    from fanpin_forms.render.qr import qr_matrix

    assert qr_modules(payload) == len(qr_matrix(payload).matrix)


def test_readback_modules_stay_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (PKG / "readback").rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 400} == {}
