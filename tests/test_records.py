"""Data in, as clerks keep it: headers, code notations, row numbers, masked errors."""

from __future__ import annotations

import csv
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fanpin_forms.cli import cli
from fanpin_forms.errors import Code, DataError

from .conftest import household, make_id, write_xlsx


def load(app, tmp_path, rows, form="annex2", **kw):
    path = write_xlsx(tmp_path / "data.xlsx", rows, **kw)
    return app.load_and_check(app.form(form), path)


def test_sample_spreadsheet_is_valid(app):
    from fanpin_forms.util.resources import bundled

    sample = bundled("form_specs").parent / "samples" / "households.xlsx"
    result = app.load_and_check(app.form("annex2"), sample)
    assert not result.errors and len(result.records) == 20
    first = result.records[0]
    assert first.row == 3  # title row, header row, then the first household
    assert first.values["address"]["county"] == "岳阳县"  # from the county plugin


@pytest.mark.parametrize("text, expected", [
    ("①②", (1, 2)), ("1,5", (1, 5)), ("③、⑤", (3, 5)), ("5，3", (3, 5)), ("住房、饮水", (2, 4)), ("", ()),
])
def test_sanbaozhang_notations(app, tmp_path, text, expected):
    result = load(app, tmp_path, [household(三保障问题=text)])
    assert not result.errors, [str(p) for p in result.errors]
    assert result.records[0].values["sanbaozhang"] == expected


@pytest.mark.parametrize("text, expected", [
    ("⑥", (6,)), ("因学、因病", (6, 7)), ("6,13", (6, 13)), ("⑥⑧", (6, 8)), ("病 学", (6, 7)), (9, (9,)),
])
def test_risk_notations(app, tmp_path, text, expected):
    result = load(app, tmp_path, [household(风险类型=text)])
    assert not result.errors, [str(p) for p in result.errors]
    assert result.records[0].values["risk_types"] == expected


@pytest.mark.parametrize("headers", [
    {"姓名": "户主姓名", "身份证号": "身份证号码", "家庭人口数": "家庭人口", "电话": "联系电话",
     "乡镇": "乡镇（街道）", "村": "村（社区）", "组": "村民小组"},
    {"户主姓名 *": "户主姓名", "身份证号码（必填）": "身份证号码", "乡(镇、街道)": "乡镇（街道）",
     "村(社区)": "村（社区）", "县（市区）": None, "市州": None},
])
def test_header_variants(app, tmp_path, headers):
    row = household()
    renamed = {}
    for new, old in headers.items():
        renamed[new] = row.pop(old) if old else "岳阳县" if "县" in new else "岳阳市"
    result = load(app, tmp_path, [{**row, **renamed}])
    assert not result.errors, [str(p) for p in result.errors]
    assert result.records[0].values["head_name"] == "张三"
    assert result.records[0].values["address"]["village"] == "杨林村"


def test_every_error_of_a_file_at_once(app, tmp_path):
    bad_id = make_id(birth="19990230")  # February 30th
    rows = [
        household(),
        household(户编号="T-002", 身份证号码=make_id(seq="002"), 三保障问题="⑥"),   # row 4: wrong group
        household(户编号="T-003", 身份证号码=make_id(seq="003"), 风险类型="⑭"),     # row 5: other without reason
        household(户编号="T-004", 家庭人口=-2, 身份证号码=bad_id),                 # row 6: two errors
        household(户编号="T-005", 身份证号码=make_id(seq="005"), 户主姓名=None, 风险类型="因穷"),  # row 7: two errors
    ]
    result = load(app, tmp_path, rows, title="台账")
    msgs = [str(p) for p in result.errors]
    assert msgs[0] == "data.xlsx 工作表「Sheet」 第4行 「“三保障”和饮水安全问题」: " + Code.VALUE_CODE_WRONG_GROUP.format(
        mark="⑥", name="因病", other="风险类型", label="“三保障”和饮水安全问题", allowed="①、②、③、④、⑤")
    assert "第5行 「其他原因」" in msgs[1] and "⑭「其他」" in msgs[1]
    assert any("第6行 「家庭人口」" in m and "不能为负数" in m for m in msgs)
    assert any("第6行 「身份证号码」" in m and "出生日期" in m for m in msgs)
    assert any("第7行 「户主姓名」" in m and "必填" in m for m in msgs)
    assert any("第7行 「风险类型」" in m and "因穷" in m for m in msgs)
    assert len(msgs) == 6 and result.invalid_rows == {4, 5, 6, 7}
    assert [r.row for r in result.records] == [3]
    assert not any(bad_id in m or bad_id[:10] in m for m in msgs)  # masked


def test_footer_rows_are_skipped(app, tmp_path):
    rows = [household(), {"户编号": "合计", "家庭人口": 4}, {"户编号": "填表人：李四  审核人：王五"}]
    result = load(app, tmp_path, rows)
    assert not result.errors and len(result.records) == 1 and result.rows_total == 1
    assert [p.location.row for p in result.warnings if p.code == Code.DATA_FOOTER_SKIPPED] == [3, 4]


def test_id_stored_as_excel_number(app, tmp_path):
    result = load(app, tmp_path, [household(身份证号码=430621198001010018)])
    (p,) = result.errors
    assert p.code == Code.VALUE_EXCEL_NUMBER_ID and "430621198001010018" not in str(p)


def test_missing_required_column(app, tmp_path):
    row = household()
    del row["风险类型"]
    with pytest.raises(DataError) as info:
        load(app, tmp_path, [row])
    assert [p.code for p in info.value.problems] == [Code.DATA_MISSING_COLUMN]
    assert "「风险类型」" in str(info.value.problems[0])


def test_duplicate_case_id(app, tmp_path):
    result = load(app, tmp_path, [household(), household(身份证号码=make_id(seq="002"))])
    assert [str(p) for p in result.errors] == [
        "data.xlsx 工作表「Sheet」 第3行 「户编号」: " + Code.DATA_DUPLICATE_CASE_ID.format(case_id="T-001", first=2)]


def test_csv_gb18030_json_and_jsonl(app, tmp_path):
    rows = [household(), household(户编号="T-002", 户主姓名="李四", 身份证号码=make_id(seq="002"))]
    for encoding in ("utf-8-sig", "gb18030"):
        path = tmp_path / f"data-{encoding}.csv"
        with path.open("w", encoding=encoding, newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        result = app.load_and_check(app.form("annex2"), path)
        assert [r.values["head_name"] for r in result.records] == ["张三", "李四"], result.errors
        assert [r.row for r in result.records] == [2, 3]
    path = tmp_path / "data.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    assert len(app.load_and_check(app.form("annex2"), path).records) == 2
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = app.load_and_check(app.form("annex2"), path)
    assert [r.row for r in result.records] == [1, 2] and result.records[1].case_id == "T-002"


def test_validate_cli(runner, tmp_path):
    path = write_xlsx(tmp_path / "村台账.xlsx", [household(), household(户编号="T-002", 联系电话="12345",
                                                                      身份证号码=make_id(seq="002"))])
    result = runner.invoke(cli, ["validate", "annex2", "--data", str(path)])
    assert result.exit_code == 1
    assert "村台账.xlsx 工作表「Sheet」 第3行 「联系电话」: 联系电话 ****5 无效" in result.output
    assert "共 2 条记录，1 条有错误" in result.output and "Traceback" not in result.output
    result = runner.invoke(cli, ["validate", "annex2", "--data", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 1 and "找不到数据文件" in result.output


# --- property: whatever a clerk's sheet holds, errors land on exactly the bad rows ------------------

VALID_ROW = st.builds(
    lambda name, size, birth, seq, risk: household(户主姓名=name, 家庭人口=size, 身份证号码=make_id(birth=birth, seq=seq), 风险类型=risk),
    st.text("张王李赵刘陈杨黄欧阳䶮𠮷", min_size=1, max_size=6),
    st.integers(1, 30),
    st.dates(min_value=__import__("datetime").date(1930, 1, 1), max_value=__import__("datetime").date(2020, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
    st.integers(0, 999).map(lambda n: f"{n:03d}"),
    st.sampled_from(["⑥", "⑦⑧", "9,10", "因病", "缺劳动力"]),
)
BREAKERS = st.sampled_from([
    ("家庭人口", -1, "家庭人口"), ("家庭人口", "三口", "家庭人口"), ("风险类型", "①", "风险类型"),
    ("身份证号码", "43062119800101001X", "身份证号码"), ("户主姓名", None, "户主姓名"), ("联系电话", "1234", "联系电话"),
])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(VALID_ROW, st.none() | BREAKERS), min_size=1, max_size=12))
def test_property_errors_exactly_on_bad_rows(app, tmp_path, rows):
    data = []
    bad: dict[int, set[str]] = {}
    ids: set[str] = set()
    for i, (row, breaker) in enumerate(rows):
        row["户编号"] = f"P-{i}"
        if breaker:
            column, value, label = breaker
            row[column] = value
            bad.setdefault(i + 2, set()).add(label)
        if not breaker or breaker[0] != "身份证号码":  # a second row of one person is an error too
            if row["身份证号码"] in ids:
                bad.setdefault(i + 2, set()).add("身份证号码")
            ids.add(row["身份证号码"])
        data.append(row)
    result = load(app, tmp_path, data)
    assert result.invalid_rows == set(bad)
    for p in result.errors:
        assert p.location.label in bad[p.location.row]
    assert [r.row for r in result.records] == [i + 2 for i in range(len(data)) if i + 2 not in bad]
    for record, row in zip(result.records, (r for i, r in enumerate(data) if i + 2 not in bad)):
        assert record.values["head_name"] == row["户主姓名"]
