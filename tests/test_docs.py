"""Every hook is documented with its exact signature (as datasette's test_docs does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanpin_forms.app import App

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugin_hooks.md"
HOOKS = sorted(name for name in dir(App().pm.hook) if not name.startswith("_"))


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_signature(hook):
    caller = getattr(App().pm.hook, hook)
    signature = f"## {hook}({', '.join(caller.spec.argnames)})"
    assert signature in DOCS.read_text(encoding="utf-8").splitlines()


def test_every_hookspec_has_a_docstring():
    from fanpin_forms import hookspecs

    for hook in HOOKS:
        assert (getattr(hookspecs, hook).__doc__ or "").strip(), hook
