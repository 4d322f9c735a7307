"""Shared code lists: ``include:`` of code-list files."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanpin_forms.app import App
from fanpin_forms.errors import Code, SpecError
from fanpin_forms.forms.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
LISTS = """code_lists:
  colour:
    title: 颜色
    codes:
      - {no: 1, name: 红}
      - {no: 2, name: 蓝}
"""
SPEC = """form: t
title: 测试
version: "1"
include: [{inc}]
fields:
  - key: c
    label: 颜色
    type: choice
    codes: colour
"""


@pytest.fixture(scope="module")
def types():
    return App().field_types


def write(tmp_path: Path, inc: str = "shared/lists.yaml", lists: str = LISTS, spec: str = SPEC) -> Path:
    (tmp_path / "shared").mkdir(exist_ok=True)
    (tmp_path / "shared" / "lists.yaml").write_text(lists, encoding="utf-8")
    path = tmp_path / "t.yaml"
    path.write_text(spec.format(inc=inc), encoding="utf-8")
    return path


def test_an_included_list_is_used(tmp_path, types):
    spec = load_spec(write(tmp_path), types)
    assert [c.name for c in spec.code_lists["colour"].codes] == ["红", "蓝"]


def test_the_bundled_specs_share_one_file(types):
    specs = {f: load_spec(ROOT / "form_specs" / f"{f}.yaml", types) for f in ("annex1", "annex2", "annex3", "ledger")}
    assert all(set(s.code_lists) >= {"sanbaozhang", "risk_type"} for s in specs.values())
    assert len({tuple((c.no, c.name) for c in s.code_lists["risk_type"].codes) for s in specs.values()}) == 1
    for f in specs:
        assert "\ncode_lists:" not in (ROOT / "form_specs" / f"{f}.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("inc", ["../outside.yaml", "shared/missing.yaml", "/etc/passwd", "3"])
def test_an_include_outside_the_folder_or_missing_is_refused(tmp_path, types, inc):
    (tmp_path.parent / "outside.yaml").write_text(LISTS, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_spec(write(tmp_path, inc=inc), types)
    assert any(p.code is Code.SPEC_INCLUDE_BAD for p in err.value.problems)


def test_problems_in_the_included_file_name_it_and_come_with_the_specs_own(tmp_path, types):
    bad = LISTS.replace("{no: 2, name: 蓝}", "{no: 2, nmae: 蓝}")
    spec = SPEC.replace("label: 颜色\n", "lable: 颜色\n")
    with pytest.raises(SpecError) as err:
        load_spec(write(tmp_path, lists=bad, spec=spec), types)
    where = {(Path(p.location.file).name, p.code) for p in err.value.problems}
    assert ("lists.yaml", Code.SPEC_UNKNOWN_KEY) in where and ("t.yaml", Code.SPEC_UNKNOWN_KEY) in where
    line = next(p.location.line for p in err.value.problems if Path(p.location.file).name == "lists.yaml"
                and p.code is Code.SPEC_UNKNOWN_KEY)
    assert line == 6


def test_a_list_defined_twice_is_an_error(tmp_path, types):
    spec = SPEC + "code_lists:\n  colour:\n    title: 又一个\n    codes:\n      - {{no: 3, name: 绿}}\n"
    with pytest.raises(SpecError) as err:
        load_spec(write(tmp_path, spec=spec), types)
    assert any(p.code is Code.SPEC_CODE_LIST_TWICE for p in err.value.problems)


EXT = """extends: annex2
{version}{place}fields:
  - key: helper
    label: 帮扶责任人
    type: text
layout:
  - text: "帮扶责任人：{{helper:8}}"
"""


def _extended(tmp_path, types, version="version: pj1\n", place=""):
    from fanpin_forms.forms.spec import apply_extension

    path = tmp_path / "ext.yaml"
    path.write_text(EXT.format(version=version, place=place), encoding="utf-8")
    base = load_spec(ROOT / "form_specs" / "annex2.yaml", types)
    return base, apply_extension(base, load_spec(path, types), types)


def test_an_extension_that_prints_has_its_own_version(tmp_path, types):
    base, form = _extended(tmp_path, types)
    assert form.version == f"{base.version}+pj1" != base.version


def test_an_extension_that_prints_without_a_version_is_an_error(tmp_path, types):
    with pytest.raises(SpecError) as err:
        _extended(tmp_path, types, version="")
    assert [p.code for p in err.value.problems] == [Code.SPEC_EXTENSION_VERSION]


@pytest.mark.parametrize("place, before_tables", [("", True), ("place: header\n", True),
                                                  ("place: after_stages\n", False)])
def test_an_extension_places_its_lines(tmp_path, types, place, before_tables):
    _base, form = _extended(tmp_path, types, place=place)
    kinds = [b.kind for b in form.layout]
    mine = next(i for i, b in enumerate(form.layout) if "helper" in str(b))
    tables = [i for i, k in enumerate(kinds) if k in ("stages", "signature")]
    assert (mine < tables[0]) if before_tables else (mine > tables[-1])


def test_a_misspelt_place_is_an_error_with_a_hint(tmp_path, types):
    with pytest.raises(SpecError) as err:
        _extended(tmp_path, types, place="place: after_stage\n")
    assert "after_stages" in str(err.value)
