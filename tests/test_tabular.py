"""Tests for fanpin_forms.intake.tabular: reading clerks' data files into raw rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fanpin_forms.errors import Code, DataError, did_you_mean
from fanpin_forms.intake.tabular import SourceRow, SourceTable, read_table

HEADERS = {"序号", "户主姓名", "身份证号码", "家庭人口", "联系电话", "识别日期", "组别"}


def is_header(text: str) -> bool:
    return text in HEADERS


def write_xlsx(path: Path, rows: dict[int, list[object]], *, title: str = "Sheet1") -> Path:
    """Write ``{excel_row: [values...]}`` to a one-sheet workbook."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r, values in rows.items():
        for c, value in enumerate(values, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8-sig") -> Path:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def codes(exc: pytest.ExceptionInfo[DataError]) -> list[Code]:
    return [p.code for p in exc.value.problems]


def only_problem(exc: pytest.ExceptionInfo[DataError]):
    assert len(exc.value.problems) == 1, exc.value.problems
    return exc.value.problems[0]


# ----------------------------------------------------------------------------- xlsx


def test_xlsx_title_row_and_blank_rows_above_header(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "台账.xlsx",
        {
            1: ["XX村防返贫监测对象台账"],
            2: [None, None, "填报日期：2024年"],
            4: ["序号", "户主姓名", "身份证号码", "识别日期"],
            5: [1, "张三", "430621199003071234", dt.datetime(2024, 3, 1)],
            7: [2, "李四", "43062119850101123X", dt.datetime(2023, 12, 31)],
        },
    )
    table = read_table(path, header_score=is_header)
    assert table.header_row == 4
    assert table.sheet == "Sheet1"
    assert table.path == path
    assert table.headers == ["序号", "户主姓名", "身份证号码", "识别日期"]
    assert [r.number for r in table.rows] == [5, 7]
    assert table.rows[0].cells == {
        "序号": 1,
        "户主姓名": "张三",
        "身份证号码": "430621199003071234",
        "识别日期": dt.date(2024, 3, 1),
    }


def test_xlsx_without_header_score_takes_first_non_empty_row(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", {3: ["姓名", "年龄"], 4: ["王五", 40]})
    table = read_table(path)
    assert table.header_row == 3
    assert table.rows == [SourceRow(4, {"姓名": "王五", "年龄": 40})]


def test_xlsx_no_header_found(tmp_path: Path) -> None:
    rows = {1: ["XX村防返贫监测对象台账"]} | {r: ["甲", "乙", "丙"] for r in range(3, 20)}
    path = write_xlsx(tmp_path / "a.xlsx", rows)
    with pytest.raises(DataError) as exc:
        read_table(path, header_score=is_header)
    problem = only_problem(exc)
    assert problem.code is Code.DATA_NO_HEADER
    # Ten non-empty rows searched: row 1 and rows 3..11.
    assert problem.context["rows"] == 11
    assert problem.location.file == str(path)
    assert problem.location.sheet == "Sheet1"


def test_header_needs_two_recognised_cells(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "a.xlsx",
        {1: ["户主姓名 台账"], 2: ["户主姓名", "备注"], 3: ["户主姓名", "身份证号码"], 4: ["甲", "1"]},
    )
    table = read_table(path, header_score=is_header)
    assert table.header_row == 3


def test_xlsx_value_types(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "a.xlsx",
        {
            1: ["日期", "时刻", "整数", "小数", "布尔", "文字", "空白", "身份证号码", "数字身份证"],
            2: [
                dt.datetime(2024, 6, 1),
                dt.datetime(2024, 6, 1, 8, 30),
                3.0,
                2.5,
                True,
                "\u3000 张三\u200b\n",
                "   ",
                "110101199003077777",
                110101199003077777,
            ],
        },
    )
    cells = read_table(path).rows[0].cells
    assert cells["日期"] == dt.date(2024, 6, 1) and type(cells["日期"]) is dt.date
    assert cells["时刻"] == dt.datetime(2024, 6, 1, 8, 30)
    assert cells["整数"] == 3 and type(cells["整数"]) is int
    assert cells["小数"] == 2.5
    assert cells["布尔"] is True
    assert cells["文字"] == "张三"
    assert cells["空白"] is None
    # An 18-digit ID typed as text stays text, every digit intact.
    assert cells["身份证号码"] == "110101199003077777"
    # One stored as a number comes back as a number: the caller must flag it.
    assert isinstance(cells["数字身份证"], int)


def test_xlsx_excel_date_number_format(tmp_path: Path) -> None:
    """A serial number with a date format (as Excel stores typed dates) reads as a date."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["户主姓名", "识别日期"])
    ws.append(["张三", 45383])  # 2024-04-01
    ws["B2"].number_format = "yyyy/m/d"
    wb.save(tmp_path / "a.xlsx")
    assert read_table(tmp_path / "a.xlsx").rows[0].cells["识别日期"] == dt.date(2024, 4, 1)


def test_xlsx_formula_cell_gives_cached_value_not_formula(tmp_path: Path) -> None:
    # openpyxl writes no cached value, so data_only reading gives None -- never "=A2*2".
    path = write_xlsx(tmp_path / "a.xlsx", {1: ["a", "b"], 2: [2, "=A2*2"]})
    assert read_table(path).rows[0].cells == {"a": 2, "b": None}


def test_xlsx_excel_escaped_carriage_return(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", {1: ["住址", "姓名"], 2: ["一组_x000D_\n二号", "甲"]})
    assert read_table(path).rows[0].cells["住址"] == "一组\r\n二号"


def test_header_whitespace_is_removed(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "a.xlsx",
        {1: ["身份证\n号码", "姓\u3000\u3000名", " 联系电话 ", "ID\nnumber", "户主 姓名"], 2: [1, 2, 3, 4, 5]},
    )
    assert read_table(path).headers == ["身份证号码", "姓名", "联系电话", "ID number", "户主姓名"]


def test_blank_header_columns(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "a.xlsx",
        {
            1: ["姓名", None, None, "年龄", None],
            2: ["甲", None, "备注一", 30],
            3: ["乙", None, None, 31, None, None, None],
        },
    )
    table = read_table(path)
    # B: blank header and no data -> ignored; C: blank header with data -> named;
    # E onwards: trailing empty columns -> ignored.
    assert table.headers == ["姓名", "第C列", "年龄"]
    assert table.rows[1].cells == {"姓名": "乙", "第C列": None, "年龄": 31}


def test_data_beyond_last_header_is_named(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", {1: ["姓名"], 2: ["甲", None, "x"]})
    assert read_table(path).headers == ["姓名", "第C列"]


def test_duplicate_header(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "a.xlsx",
        {2: ["户主姓名", "身份证号码", "身份证\n号码", "户主姓名"], 3: ["甲", "1", "2", "乙"]},
    )
    with pytest.raises(DataError) as exc:
        read_table(path)
    problems = exc.value.problems
    assert [(p.code, p.context) for p in problems] == [
        (Code.DATA_DUPLICATE_HEADER, {"header": "身份证号码", "first": "B", "second": "C"}),
        (Code.DATA_DUPLICATE_HEADER, {"header": "户主姓名", "first": "A", "second": "D"}),
    ]
    assert problems[0].location.row == 2
    assert problems[0].message == Code.DATA_DUPLICATE_HEADER.format(
        header="身份证号码", first="B", second="C"
    )


def test_unknown_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", {1: ["a"], 2: [1]}, title="监测台账")
    openpyxl_wb = openpyxl.load_workbook(path)
    openpyxl_wb.create_sheet("说明")
    openpyxl_wb.save(path)
    with pytest.raises(DataError) as exc:
        read_table(path, sheet="监测台帐")
    problem = only_problem(exc)
    assert problem.code is Code.DATA_UNKNOWN_SHEET
    assert problem.context == {
        "sheet": "监测台帐",
        "hint": did_you_mean("监测台帐", ["监测台账", "说明"]),
        "known": "监测台账、说明",
    }
    assert "监测台账" in problem.context["hint"]


def test_sheet_by_name_case_insensitive(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["x"])
    wb.active.append([1])
    other = wb.create_sheet("Data")
    other.append(["姓名"])
    other.append(["甲"])
    wb.save(tmp_path / "a.xlsx")
    table = read_table(tmp_path / "a.xlsx", sheet="data")
    assert table.sheet == "Data"
    assert table.rows[0].cells == {"姓名": "甲"}


def test_sheet_choice_prefers_active_then_first_with_data(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "空白"
    second = wb.create_sheet("二组")
    second.append(["姓名"])
    second.append(["甲"])
    third = wb.create_sheet("三组")
    third.append(["姓名"])
    third.append(["乙"])
    wb.save(tmp_path / "a.xlsx")
    assert read_table(tmp_path / "a.xlsx").sheet == "二组"  # active one is empty

    wb.active = 2
    wb.save(tmp_path / "b.xlsx")
    assert read_table(tmp_path / "b.xlsx").sheet == "三组"


def test_sheet_choice_skips_sheet_without_header(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["请按要求填写"])
    data = wb.create_sheet("台账")
    data.append(["户主姓名", "身份证号码"])
    data.append(["甲", "1"])
    wb.save(tmp_path / "a.xlsx")
    assert read_table(tmp_path / "a.xlsx", header_score=is_header).sheet == "台账"
    # Without header_score, the instructions line would be a header with nothing under it.
    assert read_table(tmp_path / "a.xlsx").sheet == "台账"


def test_sheet_choice_does_not_skip_a_broken_data_sheet(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "台账"
    wb.active.append(["户主姓名", "户主姓名"])
    wb.active.append(["甲", "乙"])
    codes_sheet = wb.create_sheet("代码表")
    codes_sheet.append(["户主姓名", "身份证号码"])
    codes_sheet.append(["x", "y"])
    wb.save(tmp_path / "a.xlsx")
    with pytest.raises(DataError) as exc:
        read_table(tmp_path / "a.xlsx", header_score=is_header)
    problem = only_problem(exc)
    assert problem.code is Code.DATA_DUPLICATE_HEADER and problem.location.sheet == "台账"


def test_hidden_sheet_is_last_resort(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    hidden = wb.create_sheet("隐藏")
    hidden.append(["姓名"])
    hidden.append(["甲"])
    hidden.sheet_state = "hidden"
    visible = wb.create_sheet("台账")
    visible.append(["姓名"])
    visible.append(["乙"])
    wb.save(tmp_path / "a.xlsx")
    assert read_table(tmp_path / "a.xlsx").sheet == "台账"


def test_empty_workbook_and_header_only(tmp_path: Path) -> None:
    openpyxl.Workbook().save(tmp_path / "empty.xlsx")
    with pytest.raises(DataError) as exc:
        read_table(tmp_path / "empty.xlsx")
    assert codes(exc) == [Code.DATA_FILE_EMPTY]

    path = write_xlsx(tmp_path / "header.xlsx", {1: ["户主姓名", "身份证号码"]})
    with pytest.raises(DataError) as exc:
        read_table(path)
    assert codes(exc) == [Code.DATA_FILE_EMPTY]


@pytest.mark.parametrize(
    ("name", "content", "why_part"),
    [
        ("garbage.xlsx", b"this is not a workbook at all", "不是有效的 .xlsx"),
        ("empty.xlsx", b"", "0 字节"),
        ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
        ("page.xlsx", b"<html><body><table></table></body></html>", "网页"),
        ("~$台账.xlsx", b"\x05lock", "临时文件"),
    ],
)
def test_not_an_xlsx(tmp_path: Path, name: str, content: bytes, why_part: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError) as exc:
        read_table(path)
    problem = only_problem(exc)
    assert problem.code is Code.DATA_FILE_UNREADABLE
    assert why_part in problem.context["why"]
    assert problem.location.file == str(path)


def test_corrupt_xlsx_zip(tmp_path: Path) -> None:
    # A zip without workbook parts.
    with zipfile.ZipFile(tmp_path / "zip.xlsx", "w") as zf:
        zf.writestr("hello.txt", "hi")
    # A real workbook cut in half.
    good = write_xlsx(tmp_path / "good.xlsx", {1: ["a"], 2: [1]})
    (tmp_path / "cut.xlsx").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    # A workbook whose sheet XML is broken.
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(tmp_path / "badxml.xlsx", "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            dst.writestr(item, data)
    for name in ("zip.xlsx", "cut.xlsx", "badxml.xlsx"):
        with pytest.raises(DataError) as exc:
            read_table(tmp_path / name)
        problem = only_problem(exc)
        assert problem.code is Code.DATA_FILE_UNREADABLE, name
        assert "Traceback" not in str(exc.value) and "Error" not in str(exc.value)


def test_xlsm_and_upper_case_suffix(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", {1: ["a"], 2: [1]})
    upper = path.rename(tmp_path / "A.XLSX")
    assert read_table(upper).rows[0].cells == {"a": 1}
    macro = upper.rename(tmp_path / "a.xlsm")
    assert read_table(macro).rows[0].cells == {"a": 1}


@pytest.mark.parametrize("suffix", [".xls", ".txt", ".ods", ""])
def test_unsupported_suffix(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_bytes(b"whatever")
    with pytest.raises(DataError) as exc:
        read_table(path)
    problem = only_problem(exc)
    assert problem.code is Code.DATA_FILE_TYPE
    assert problem.context["suffix"] == (suffix or "（无后缀）")


def test_missing_file_keeps_the_name_as_given(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as exc:
        read_table("不存在/台账.xlsx")
    problem = only_problem(exc)
    assert problem.code is Code.DATA_FILE_MISSING
    assert problem.location.file == "不存在/台账.xlsx"
    assert problem.context == {"path": "不存在/台账.xlsx"}


def test_directory_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataError) as exc:
        read_table(tmp_path / "dir.csv")
    assert codes(exc) == [Code.DATA_FILE_UNREADABLE]


def test_xlsx_10000_rows_all_read(tmp_path: Path) -> None:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    ws.append([f"列{c}" for c in range(20)])
    for r in range(10_000):
        ws.append([f"张{r}" if c % 2 else r * 20 + c for c in range(20)])
    wb.save(tmp_path / "big.xlsx")
    table = read_table(tmp_path / "big.xlsx")
    assert len(table.rows) == 10_000
    assert table.rows[-1].number == 10_001
    assert table.rows[-1].cells["列1"] == "张9999"


# ------------------------------------------------------------------------------ csv


def test_csv_bom_utf8(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["户主姓名", "身份证号码"], ["张三", "430621199003071234"]])
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    table = read_table(path)
    assert table.headers == ["户主姓名", "身份证号码"]
    assert table.rows == [SourceRow(2, {"户主姓名": "张三", "身份证号码": "430621199003071234"})]


def test_csv_gb18030(tmp_path: Path) -> None:
    rows = [["户主姓名", "组别", "备注"], ["欧阳䶮", "一组", "𠀀字（扩展B）"], ["龚", "二组", "001"]]
    path = write_csv(tmp_path / "a.csv", rows, encoding="gb18030")
    table = read_table(path)
    assert table.headers == ["户主姓名", "组别", "备注"]
    assert [r.cells for r in table.rows] == [
        {"户主姓名": "欧阳䶮", "组别": "一组", "备注": "𠀀字（扩展B）"},
        # CSV cells are text: leading zeros survive.
        {"户主姓名": "龚", "组别": "二组", "备注": "001"},
    ]


def test_csv_quoted_newline_counts_as_one_row(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        '户主姓名,住址\r\n张三,"一组\r\n二号, 东头"\r\n\r\n李四,三组\r\n', encoding="utf-8"
    )
    table = read_table(path)
    # Excel: row 1 header, row 2 张三 (two-line cell), row 3 blank, row 4 李四.
    assert [(r.number, r.cells["户主姓名"]) for r in table.rows] == [(2, "张三"), (4, "李四")]
    assert table.rows[0].cells["住址"] == "一组\r\n二号, 东头"


def test_csv_title_row_and_header_score(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "a.csv",
        [["XX村防返贫监测对象台账", "", ""], [], ["序号", "户主姓名", "身份证\n号码"], ["1", "张三", "43062119900307123X"]],
    )
    table = read_table(path, header_score=is_header)
    assert table.header_row == 3
    assert table.rows == [SourceRow(4, {"序号": "1", "户主姓名": "张三", "身份证号码": "43062119900307123X"})]


def test_csv_bad_encoding(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xff\xfe\xff\xff,\x80\x80\n")
    with pytest.raises(DataError) as exc:
        read_table(path)
    assert codes(exc) == [Code.DATA_FILE_ENCODING]


def test_csv_empty(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n,,,\r\n")
    with pytest.raises(DataError) as exc:
        read_table(path)
    assert codes(exc) == [Code.DATA_FILE_EMPTY]


def test_csv_duplicate_header_uses_letters(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["姓名", "a", "b", "姓名"], ["1", "2", "3", "4"]])
    with pytest.raises(DataError) as exc:
        read_table(path)
    problem = only_problem(exc)
    assert problem.code is Code.DATA_DUPLICATE_HEADER
    assert problem.context == {"header": "姓名", "first": "A", "second": "D"}


# ----------------------------------------------------------------------------- json


def test_json_array_and_records_object(tmp_path: Path) -> None:
    records = [
        {"户主姓名": " 张三 ", "家庭人口": 3, "收入": 6900.0, "成员": [{"姓名": "甲 ", "年龄": 40.0}]},
        {},
        {"户主姓名": "李四", "备注": ""},
    ]
    (tmp_path / "a.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"records": records}), encoding="utf-8")
    for name in ("a.json", "b.json"):
        table = read_table(tmp_path / name)
        assert table.header_row == 0 and table.sheet is None
        assert table.headers == ["户主姓名", "家庭人口", "收入", "成员", "备注"]
        assert [r.number for r in table.rows] == [1, 3]  # the blank item 2 is skipped
        assert table.rows[0].cells == {
            "户主姓名": "张三",
            "家庭人口": 3,
            "收入": 6900,
            "成员": [{"姓名": "甲", "年龄": 40}],
            "备注": None,
        }
        assert table.rows[1].cells["备注"] is None


def test_json_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[\n  {"户主姓名": "张三"},\n  {"户主姓名": "李四"，"家庭人口": 3}\n]\n', encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_table(path)
    problem = only_problem(exc)
    assert problem.code is Code.DATA_JSON_SYNTAX
    assert (problem.context["line"], problem.context["col"]) == (3, 16)
    assert "缺少逗号" in problem.context["why"] and "中文标点「，」" in problem.context["why"]
    assert problem.location.file == str(path)


def test_json_extra_data_suggests_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"a": 1}\n{"a": 2}\n', encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_table(path)
    problem = only_problem(exc)
    assert problem.code is Code.DATA_JSON_SYNTAX
    assert problem.context["line"] == 2 and ".jsonl" in problem.context["why"]


def test_json_items_not_objects(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[{"a": 1}, [1, 2], "x", null, {"a": 2}]', encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_table(path)
    assert [(p.code, p.location.row) for p in exc.value.problems] == [
        (Code.DATA_JSON_NOT_OBJECT, 2),
        (Code.DATA_JSON_NOT_OBJECT, 3),
        (Code.DATA_JSON_NOT_OBJECT, 4),
    ]


@pytest.mark.parametrize(
    ("text", "actual"),
    [('{"data": []}', "没有「records」数组的对象"), ('"hello"', "文字"), ("42", "数字")],
)
def test_json_wrong_top_level(tmp_path: Path, text: str, actual: str) -> None:
    path = tmp_path / "a.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_table(path)
    problem = only_problem(exc)
    assert problem.code is Code.DATA_JSON_NO_RECORDS
    assert problem.context == {"actual": actual}


def test_json_duplicate_key(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[{"a": 1}, {"姓名": "甲", "姓名 ": "乙"}, {"m": [{"x": 1, "x": 2}]}]', encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_table(path)
    assert [(p.code, p.location.row, p.context) for p in exc.value.problems] == [
        (Code.DATA_JSON_DUPLICATE_KEY, 2, {"key": "姓名"}),
        (Code.DATA_JSON_DUPLICATE_KEY, 3, {"key": "x"}),
    ]


def test_json_nan_is_kept_as_text_and_empty_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[{"收入": NaN}]', encoding="utf-8")
    assert read_table(path).rows[0].cells == {"收入": "NaN"}
    for text in ("[]", "  \n", '{"records": []}', "[{}, {\"a\": null}]"):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(DataError) as exc:
            read_table(path)
        assert codes(exc) == [Code.DATA_FILE_EMPTY], text


def test_jsonl_line_numbers_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"户主姓名": "张三"}\n\n  \n{"户主姓名": "李四", "组别": "二组"}\r\n', encoding="utf-8")
    table = read_table(path)
    assert table.headers == ["户主姓名", "组别"]
    assert table.rows == [
        SourceRow(1, {"户主姓名": "张三", "组别": None}),
        SourceRow(4, {"户主姓名": "李四", "组别": "二组"}),
    ]


def test_jsonl_errors_report_every_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"a": 1}\n{"a": 2,}\n[1]\n\n{"a" 3}\n{"a": 4}\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError) as exc:
        read_table(path)
    found = [(p.code, p.context.get("line"), p.location.row) for p in exc.value.problems]
    assert found == [
        (Code.DATA_JSON_SYNTAX, 2, None),
        (Code.DATA_JSON_NOT_OBJECT, None, 3),
        (Code.DATA_JSON_SYNTAX, 5, None),
    ]
    syntax = exc.value.problems[2]
    assert syntax.context["col"] == 6 and "冒号" in syntax.context["why"]


def test_sourcetable_is_frozen(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["a"], ["1"]])
    table = read_table(path)
    assert isinstance(table, SourceTable)
    with pytest.raises(AttributeError):
        table.header_row = 5  # type: ignore[misc]


# ------------------------------------------------------------------------ property

_CHARS = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
    st.sampled_from("abcXYZ0189 ,.;:'\"()-（）：，。、\n\u3000𠀀䶮"),
)
# Column names: no whitespace (it is removed from headers), unique.
_HEADER = st.text(
    alphabet=st.one_of(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), st.sampled_from("abcXYZ019（）")),
    min_size=1,
    max_size=6,
)
_CELL = st.one_of(
    st.none(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.text(alphabet=_CHARS, max_size=12),
)


@st.composite
def tables(draw):
    headers = draw(st.lists(_HEADER, min_size=1, max_size=6, unique=True))
    width = len(headers)
    body = draw(
        st.lists(
            st.one_of(st.just(None), st.lists(_CELL, min_size=width, max_size=width)),
            max_size=12,
        )
    )  # None = a blank row
    leading_blanks = draw(st.integers(min_value=0, max_value=2))
    return headers, body, leading_blanks


def _expected(body, header_row: int, as_text: bool):
    """Expected (row number, cells) for data rows, numbered as Excel would."""
    out = []
    for offset, row in enumerate(body, start=1):
        if row is None:
            continue
        values = []
        for v in row:
            if isinstance(v, str):
                v = v.strip() or None
            elif isinstance(v, int) and as_text:
                v = str(v)
            values.append(v)
        if any(v is not None for v in values):
            out.append((header_row + offset, values))
    return out


def _check(table_or_exc, headers, expected, header_row):
    if not expected:
        assert isinstance(table_or_exc, DataError)
        assert [p.code for p in table_or_exc.problems] == [Code.DATA_FILE_EMPTY]
        return
    table = table_or_exc
    assert isinstance(table, SourceTable), table_or_exc
    assert table.header_row == header_row
    assert table.headers == headers
    assert [(r.number, [r.cells[h] for h in headers]) for r in table.rows] == expected


def _read(path):
    try:
        return read_table(path)
    except DataError as exc:
        return exc


_PROPERTY = settings(
    max_examples=60,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the repo
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@_PROPERTY
@given(tables())
def test_property_xlsx_round_trip(tmp_path: Path, data) -> None:
    headers, body, leading = data
    header_row = 1 + leading
    rows = {header_row: headers}
    for offset, row in enumerate(body, start=1):
        if row is not None:
            rows[header_row + offset] = row
    path = write_xlsx(tmp_path / "p.xlsx", rows)
    _check(_read(path), headers, _expected(body, header_row, as_text=False), header_row)


@_PROPERTY
@given(tables(), st.sampled_from(["utf-8-sig", "gb18030"]))
def test_property_csv_round_trip(tmp_path: Path, data, encoding: str) -> None:
    headers, body, leading = data
    header_row = 1 + leading
    records = [[] for _ in range(leading)] + [headers]
    records += [[] if row is None else ["" if v is None else v for v in row] for row in body]
    path = write_csv(tmp_path / "p.csv", records, encoding=encoding)
    if encoding == "gb18030":
        # Utf-8 is tried first: a tiny GB18030 file can happen to be valid UTF-8
        # (e.g. "小" is D0 A1, also UTF-8 for "С"). Real files are never that short.
        try:
            path.read_bytes().decode("utf-8")
            assume(path.read_bytes().isascii())
        except UnicodeDecodeError:
            pass
    _check(_read(path), headers, _expected(body, header_row, as_text=True), header_row)
