"""A case rule that reads a column the case ledger does not declare is an error when the
rules are loaded (App.rules), naming the plugin, the rule and the column, with a hint."""

from __future__ import annotations

import types

import pytest

from fanpin_forms import error, hookimpl, rule
from fanpin_forms.app import App
from fanpin_forms.cases.rules import columns_read
from fanpin_forms.errors import Code, PluginError


def _plugin(name: str, *rules, forms=()):
    @hookimpl
    def register_rules(register):
        for r in rules:
            register(r)

    @hookimpl
    def register_forms(register):
        for path in forms:
            register(path)

    return types.SimpleNamespace(__name__=name, register_rules=register_rules, register_forms=register_forms)


@rule("拼错的列")
def misspelt(case, county, as_of):
    if case["publicty_start"] is None:
        yield error("x")


@rule("声明读取的列", reads=("helpr",))
def declared(case, county, as_of):
    return _through_a_helper(case, "helpr")


def _through_a_helper(c, key):
    return [error("x")] if c[key] is None else []


@rule("好的规则")
def good(case, county, as_of):
    if case.get("publicity_start") and not case.has_any("publicity_end", "county_approval_date"):
        yield error(case.label("publicity_end"))


def test_columns_read_are_found_in_the_source_and_declared():
    assert columns_read(misspelt) == {"publicty_start"}
    assert columns_read(declared) == {"helpr"}
    assert columns_read(good) == {"publicity_start", "publicity_end", "county_approval_date"}
    assert columns_read(lambda c, county, as_of: c["x"]) == {"x"}
    assert columns_read(len) == set()  # no source: only what is declared


@pytest.mark.parametrize("bad, key, hint", [(misspelt, "publicty_start", "publicity_start"), (declared, "helpr", "")])
def test_an_undeclared_column_is_an_error_at_load(bad, key, hint):
    app = App("yueyang", extra_plugins=(_plugin("xiancheck", good, bad),), entry_points=True)
    with pytest.raises(PluginError) as exc:
        app.rules  # noqa: B018 -- loading the rules, no case needed
    [problem] = exc.value.problems
    assert problem.code is Code.RULE_UNKNOWN_COLUMN
    text = str(problem)
    assert "xiancheck" in text and bad.__name__ in text and key in text and hint in text


def test_a_column_added_by_extends_ledger_is_known(tmp_path):
    spec = tmp_path / "ledger_extra.yaml"
    spec.write_text("extends: ledger\nfields:\n  - key: helpr\n    label: 帮扶责任人\n    type: text\n", encoding="utf-8")
    app = App("yueyang", extra_plugins=(_plugin("xiancheck", declared, forms=(spec,)),))
    assert ("xiancheck", declared) in app.rules
