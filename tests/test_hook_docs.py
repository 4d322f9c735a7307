"""docs/plugin_hooks.md and hookspecs.py describe the same hooks, both ways round."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from fanpin_forms import hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugin_hooks.md"


def _specs() -> dict[str, list[str]]:
    return {name: list(inspect.signature(fn).parameters)
            for name, fn in vars(hookspecs).items()
            if callable(fn) and getattr(fn, "fanpin_forms_spec", None) is not None}


def _documented() -> dict[str, list[str]]:
    heads = re.findall(r"^## (\w+)\(([^)]*)\)\s*$", DOCS.read_text(encoding="utf-8"), re.MULTILINE)
    return {name: [a.strip() for a in args.split(",") if a.strip()] for name, args in heads}


def test_hookspecs_are_found():
    assert {"register_counties", "register_forms", "register_checks", "register_rules"} <= set(_specs())


def test_every_hookspec_is_documented_and_every_documented_hook_exists():
    assert _documented() == _specs()


def test_hookspec_docstrings_are_terse():
    for name, fn in vars(hookspecs).items():
        if name in _specs():
            assert 0 < len(inspect.getdoc(fn).splitlines()) <= 3, name


def test_commands_are_said_to_be_added_in_main():
    text = DOCS.read_text(encoding="utf-8") + inspect.getsource(hookspecs)
    assert "is imported;" not in text
    assert "main()" in inspect.getdoc(hookspecs.register_commands)
