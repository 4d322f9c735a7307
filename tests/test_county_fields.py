"""``fanpin fields`` lists a repeating table's numbered columns as the sheet carries them
(成员1姓名 … 成员6务工时间（月）), and a sheet headed by exactly those names loads its members."""

from __future__ import annotations

import json

import fanpin_forms_pingjiang

from fanpin_forms.cli import cli
from fanpin_forms.testing import app_with, households, members, write_xlsx


def _dictionary(runner):
    result = runner.invoke(cli, ["--county", "pingjiang", "fields", "pj_members", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_member_table_is_listed_as_its_numbered_columns(runner):
    rows = {r["key"]: r for r in _dictionary(runner)}
    assert "members" not in rows
    labels = [r["label"] for k, r in rows.items() if k.startswith("members.")]
    assert labels[:2] == ["成员1姓名", "成员1与户主关系"] and labels[-1] == "成员6务工时间（月）"
    assert len(labels) == 6 * 6
    assert rows["members.3.id_number"]["sensitive"] == "id_number"
    assert rows["members.3.health"]["sensitive"] == "health"
    assert "家庭成员2身份证号码" in rows["members.2.id_number"]["headers"]
    text = runner.invoke(cli, ["--county", "pingjiang", "fields", "pj_members"]).output
    assert "成员6劳动技能" in text and "\n家庭成员\t" not in text


def test_a_sheet_headed_by_the_listed_names_loads_its_members(runner, tmp_path):
    entries = _dictionary(runner)
    headers = [r["label"] for r in entries if not r["key"].startswith("address.county")]
    household = households(1, seed=3)[0]
    row = {**household, **members(household, seed=3, count=3), "县(市区)": "平江县", "家庭人口": 3}
    data = write_xlsx(tmp_path / "户.xlsx", [row], headers)
    app = app_with(fanpin_forms_pingjiang, county="pingjiang")
    result = app.load_and_check(app.form("pj_members"), data)
    assert not result.errors, result.errors
    got = result.records[0].values["members"]
    assert [m["name"] for m in got] == [row[f"成员{i}姓名"] for i in (1, 2, 3)]
    assert [m["relation"] for m in got] == [row[f"成员{i}与户主关系"] for i in (1, 2, 3)]
