"""Private data typed where it does not belong never leaves the program.

二、5：“县级公告、村级公示中不得公开农户身份证号码、手机号、银行账号、健康状况等敏感信息。”
Each hostile value is typed into a ledger the test writes, the way a clerk (or a
hostile user) would: with spaces, dashes, full-width digits, zero-width characters
or in Chinese numerals. The notice must stop, name the row as Excel shows it and the
column, mask the value, and write nothing. The same reading masks messages,
``errors.csv`` and file names.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import os
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from fanpin_forms.app import App
from fanpin_forms.cli import cli
from fanpin_forms.errors import Code, DataError, FanpinError
from fanpin_forms.privacy.idcard import check_char
from fanpin_forms.privacy.leakguard import DEFAULT_HEALTH_TERMS, compact, find
from fanpin_forms.privacy.masking import scrub_shapes
from fanpin_forms.cases.notices import NoticeRow, guard_rows
from fanpin_forms.render.filenames import HIDDEN, MAX_NAME_BYTES, file_names
from tests.test_notices import sensitive_rows

VILLAGE_ROW = 1  # in publicity, not yet approved: listed by `notice village`
COUNTY_ROW = 7  # approved, not yet announced: listed by `notice county`
LABELS = {"户主姓名": "户主姓名", "乡镇": "乡镇（街道/社区）", "村": "村", "组": "村民小组"}


@pytest.fixture(scope="module")
def app() -> App:
    return App(county="yueyang")


def run_cli(app: App, *args: str):
    return CliRunner().invoke(cli, list(args), obj=app, catch_exceptions=False)


def write_xlsx(path: Path, rows: list[dict]) -> Path:
    """The ledger as Excel has it: a header in row 1, record i in row i + 2."""
    wb = openpyxl.Workbook()
    ws = wb.active
    headers = list(dict.fromkeys(k for row in rows for k in row))
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[dict]) -> Path:
    """The ledger as a CSV file, formulas and all (openpyxl would store "=…" as a formula)."""
    headers = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, headers)
        writer.writeheader()
        writer.writerows(rows)
    return path


def excel_row(index: int) -> int:
    return index + 2


def notice(app: App, kind: str, rows: list[dict], tmp_path: Path, *extra: str):
    data = write_xlsx(tmp_path / "ledger.xlsx", rows)
    out = tmp_path / "out"
    args = ["notice", kind, "--data", str(data), "-o", str(out)]
    if kind == "county":
        args += ["--date", "2022-07-10"]
    return run_cli(app, *args, *extra), out


def expected(index: int, column: str, masked: str, kinds: str, what: str, whose: str = "") -> str:
    return (f"ledger.xlsx 第{excel_row(index)}行 「{LABELS[column]}」: "
            + Code.NOTICE_PRIVATE_VALUE.format(value=masked, kinds=kinds, whose=whose, what=what))


def spaced(digits: str) -> str:
    return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))


_CN = "〇一二三四五六七八九"


def chinese(digits: str) -> str:
    return "".join(_CN[int(d)] for d in digits)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# --- 1. every hostile value of the report, in both notices --------------------------------

HOSTILE = [
    # column, value, masked as the message shows it, kinds
    ("组", "4306 2119 7609 0815 9X", "4306 **** **** **15 9X", "身份证号码"),
    ("户主姓名", "王秀英135-5841-3450", "王秀英135-****-3450", "电话号码"),
    ("乡镇", "6217 4722 0967 2495 294", "**** **** **** ***5 294", "银行账号"),
    ("户主姓名", "陈志强（尿毒症透析）", "陈志强（***）", "健康状况"),
    ("户主姓名", "王秀英一三五八七一四一三四〇", "王秀英一三五****一三四〇", "电话号码"),
    ("村", "杨林村\u200b135\u00a05841\u20093450", "杨林村\u200b135\u00a0****\u20093450", "电话号码"),
    ("户主姓名", "王秀英１３５－５８４１－３４５０", "王秀英１３５－****－３４５０", "电话号码"),
]


@pytest.mark.parametrize("kind, index, what", [("village", VILLAGE_ROW, "村级公示"),
                                                ("county", COUNTY_ROW, "县级公告")])
@pytest.mark.parametrize("column, value, masked, kinds", HOSTILE, ids=[h[1] for h in HOSTILE])
def test_hostile_value_stops_the_notice(app, tmp_path, kind, index, what, column, value, masked, kinds):
    rows = sensitive_rows()
    rows[index][column] = value
    result, out = notice(app, kind, rows, tmp_path)
    assert result.exit_code == 1
    assert expected(index, column, masked, kinds, what) in result.output
    assert not out.exists()


def test_the_households_own_id_typed_with_spaces_is_named_as_its_own(app, tmp_path):
    rows = sensitive_rows()
    own = rows[VILLAGE_ROW]["身份证号码"]
    rows[VILLAGE_ROW]["组"] = spaced(own)
    result, out = notice(app, "village", rows, tmp_path)
    assert result.exit_code == 1
    masked = spaced(own[:4] + "*" * 10 + own[-4:])
    assert expected(VILLAGE_ROW, "组", masked, "身份证号码", "村级公示", "（就是本户的身份证号码）") in result.output
    assert own not in result.output and not out.exists()


def test_the_households_own_phone_in_chinese_numerals(app, tmp_path):
    rows = sensitive_rows()
    own = rows[COUNTY_ROW]["联系电话"]
    rows[COUNTY_ROW]["户主姓名"] = rows[COUNTY_ROW]["户主姓名"] + chinese(own)
    result, out = notice(app, "county", rows, tmp_path)
    assert result.exit_code == 1
    masked = rows[COUNTY_ROW]["户主姓名"][:-8] + "****" + chinese(own[-4:])
    assert expected(COUNTY_ROW, "户主姓名", masked, "电话号码", "县级公告", "（就是本户的电话号码）") in result.output
    assert not out.exists()


def test_another_households_account_in_full_width_digits(app, tmp_path):
    rows = sensitive_rows()
    other = rows[0]["银行账号"]
    rows[VILLAGE_ROW]["组"] = fullwidth(other)
    result, out = notice(app, "village", rows, tmp_path)
    assert result.exit_code == 1
    masked = "*" * (len(other) - 4) + fullwidth(other[-4:]) + "组"  # a number alone in 组 is printed as "N组"
    assert expected(VILLAGE_ROW, "组", masked, "银行账号", "村级公示", "（与第2行那一户的银行账号相同）") in result.output
    assert not out.exists()


def test_every_bad_cell_is_named_at_once(app, tmp_path):
    rows = sensitive_rows()
    rows[0]["户主姓名"] = "陈志强（尿毒症透析）"
    rows[2]["组"] = "4306 2119 7609 0815 9X"
    result, out = notice(app, "village", rows, tmp_path)
    assert result.exit_code == 1
    assert "第2行 「户主姓名」" in result.output and "第4行 「村民小组」" in result.output
    assert "共 2 个问题" in result.output and not out.exists()


def test_a_county_may_extend_the_health_terms(app, tmp_path):
    rows = sensitive_rows()
    rows[COUNTY_ROW]["户主姓名"] = "黄春生（五保）"
    result, out = notice(app, "county", rows, tmp_path)
    assert result.exit_code == 0, result.output  # not a health word by default
    county = dataclasses.replace(app.county, health_terms=(*DEFAULT_HEALTH_TERMS, "五保"))
    records = app.load_and_check(app.form("ledger"), write_xlsx(tmp_path / "l2.xlsx", rows)).records
    from fanpin_forms.cases.notices import select_county

    with pytest.raises(DataError) as exc:
        select_county(records, app.form("ledger"), county, date=dt.date(2022, 7, 10), source="l2.xlsx")
    assert exc.value.problems[0].code is Code.NOTICE_PRIVATE_VALUE
    assert str(exc.value.problems[0]).startswith("l2.xlsx 第9行 「户主姓名」: 「黄春生（***）」中有健康状况")


def test_the_final_scan_reads_numbers_the_same_way(app, tmp_path, monkeypatch):
    """Second line of defence: with the check before layout switched off, the byte scan stops it."""
    import fanpin_forms.cases.notices.select as select

    monkeypatch.setattr(select, "guard_rows", lambda *args, **kwargs: None)
    rows = sensitive_rows()
    rows[VILLAGE_ROW]["组"] = "4306 2119 7609 0815 9X"
    result, out = notice(app, "village", rows, tmp_path)
    assert result.exit_code == 1
    assert "出现了敏感信息（身份证号码" in result.output and not out.exists()


def test_risk_type_names_are_not_health_details(app, tmp_path):
    """因病、因残 are the notice's own public categories."""
    result, out = notice(app, "village", sensitive_rows(), tmp_path)
    assert result.exit_code == 0, result.output
    assert len(list(out.iterdir())) == 2


# --- 2. messages, errors.csv and file names ------------------------------------------------


def test_an_id_in_a_name_is_masked_in_validate_messages(app, tmp_path):
    rows = sensitive_rows()[:2]
    rows[0]["户主姓名"] = "李建国430621199102118030"  # 21 characters: too long
    rows[1]["家庭人口"] = "430621199102118030"
    data = write_xlsx(tmp_path / "ledger.xlsx", rows)
    result = run_cli(app, "validate", "ledger", "--data", str(data))
    assert result.exit_code == 1
    assert "430621199102118030" not in result.output and "4306211991" not in result.output
    assert Code.VALUE_TOO_LONG.format(value="李建国4306**********8030", max=20, length=21) in result.output
    assert "「4306**********8030」" in result.output


def test_errors_csv_is_masked(app, tmp_path):
    from fanpin_forms.cli.render import write_errors_csv

    rows = sensitive_rows()[:2]
    rows[0]["户主姓名"] = "李建国430621199102118030"
    result = app.load_and_check(app.form("ledger"), write_xlsx(tmp_path / "ledger.xlsx", rows))
    path = write_errors_csv(tmp_path / "errors.csv", result.errors)
    text = path.read_text(encoding="utf-8-sig")
    assert "430621199102118030" not in text and "李建国4306**********8030" in text
    assert list(csv.reader(text.splitlines()))[1][:2] == ["2", "户主姓名"]


@pytest.mark.parametrize("text", [
    "风险发现日期 2022-06-01 晚于入户核实日期 2022/6/2", "户编号「YY-0001」重复，第 12 行已经使用",
    "监测户当年人均纯收入低于 6900 元（6900.50）", "公示期：2022年6月4日至2022年6月8日（共5天）",
    "2022-06-04 2022-06-08", "座机应为区号加 7–8 位号码", "共 200000 条记录",
])
def test_ordinary_messages_are_not_masked(text):
    assert scrub_shapes(text) == text


def test_file_names_never_carry_a_piece_of_an_id(app, tmp_path):
    rows = sensitive_rows()[:3]
    other_id = rows[2]["身份证号码"]
    rows[0]["村"] = "杨林村 " + spaced(other_id)
    rows[1]["户主姓名"] = "王秀英" + other_id[:10]  # ten digits of another household's ID
    records = app.load_and_check(app.form("ledger"), write_xlsx(tmp_path / "ledger.xlsx", rows)).records
    names = file_names(app.form("ledger"), records, "{village}_{head_name}_{case_id}")
    assert names == [f"杨林村 {HIDDEN}_李建国_YY-001.docx", f"杨林村_王秀英{HIDDEN}_YY-002.docx",
                     "杨林村_张德明_YY-003.docx"]
    digits = "".join(c for name in names for c in name if c.isdigit())
    assert other_id[:6] not in digits


def test_file_names_are_limited_in_bytes(app, tmp_path):
    rows = sensitive_rows()[:2]
    rows[0]["村"] = "很" * 100  # 300 bytes in UTF-8
    rows[1]["村"] = "很" * 100
    records = app.load_and_check(app.form("ledger"), write_xlsx(tmp_path / "ledger.xlsx", rows)).records
    names = file_names(app.form("ledger"), records, "{village}_{head_name}")
    assert all(len(n.encode("utf-8")) <= MAX_NAME_BYTES for n in names)
    assert names[0].startswith("很" * 60) and names[0].endswith(".docx")
    assert len(set(names)) == 2


# --- 3. notices are written atomically -----------------------------------------------------


def test_a_failed_write_leaves_the_previous_notice(app, tmp_path, monkeypatch):
    rows = sensitive_rows()
    first, out = notice(app, "county", rows, tmp_path)
    assert first.exit_code == 0, first.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(before) == ["岳阳县_防返贫监测县级公告_2022-07-10.docx", "岳阳县_防返贫监测县级公告_2022-07-10.html"]

    calls = []
    real_fsync = os.fsync

    def full_disk(fd):
        calls.append(fd)
        if len(calls) == 2:  # the second file of the notice
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    rows[COUNTY_ROW]["户主姓名"] = "黄春生甲"
    second, _ = notice(app, "county", rows, tmp_path)
    assert second.exit_code == 1
    assert "无法写入" in second.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # same files, same bytes, no temporary


# --- 4. formulas as names --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "@SUM(1)", "+1", "-1+1", "\t=1+1"])
def test_formula_like_names_are_refused(app, tmp_path, name):
    rows = sensitive_rows()[:1]
    rows[0]["户主姓名"] = name
    result = run_cli(app, "validate", "ledger", "--data", str(write_csv(tmp_path / "ledger.csv", rows)))
    assert result.exit_code == 1
    text = name.strip()
    assert "第2行 「户主姓名」: " + Code.VALUE_FORMULA.format(value=text, char=text[0]) in result.output


def test_formula_like_place_names_are_refused(app, tmp_path):
    rows = sensitive_rows()[:1]
    rows[0]["村"] = "=HYPERLINK(\"http://x\")"
    result = run_cli(app, "validate", "ledger", "--data", str(write_csv(tmp_path / "ledger.csv", rows)))
    assert result.exit_code == 1
    assert "ledger.csv 第2行 「村」: " + Code.VALUE_FORMULA.format(value=rows[0]["村"], char="=") in result.output


def test_formula_like_text_cannot_start_a_cell_of_errors_csv(tmp_path):
    from fanpin_forms.cli.render import write_errors_csv
    from fanpin_forms.errors import Location, Problem

    problem = Problem(Code.CHECK_FINDING, {"message": "=HYPERLINK(\"x\")"}, Location(row=2, label="=1+1"))
    text = write_errors_csv(tmp_path / "errors.csv", [problem]).read_text(encoding="utf-8-sig")
    assert list(csv.reader(text.splitlines()))[1] == ["2", "'=1+1", "'=HYPERLINK(\"x\")"]


# --- property tests --------------------------------------------------------------------------

_SEPARATORS = [" ", "-", ".", "/", "\u00a0", "\u3000", "\u200b", "\u200d", "\ufeff", "－", "—", "–", "_", "／", "．",
               "\u2060", "  "]
_CHINESE = {"0": "〇零", "1": "一壹幺", "2": "二贰两", "3": "三叁", "4": "四肆", "5": "五伍", "6": "六陆", "7": "七柒",
            "8": "八捌", "9": "九玖"}


@st.composite
def secret_numbers(draw) -> str:
    kind = draw(st.sampled_from(["id", "phone", "bank"]))
    if kind == "id":
        born = draw(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2021, 12, 31)))
        first17 = f"{draw(st.sampled_from(['430621', '110105', '440305', '510107']))}{born:%Y%m%d}" \
                  f"{draw(st.integers(0, 999)):03d}"
        return first17 + check_char(first17)
    if kind == "phone":
        return f"1{draw(st.sampled_from('3456789'))}{draw(st.integers(0, 10**9 - 1)):09d}"
    length = draw(st.integers(16, 19))
    return "62" + "".join(str(draw(st.integers(0, 9))) for _ in range(length - 2))


@st.composite
def written(draw, number: str) -> str:
    """``number`` as a clerk might type it: any digit ASCII, full-width or Chinese; separators anywhere."""
    style = draw(st.sampled_from(["ascii", "fullwidth", "chinese", "mixed"]))
    out = []
    for i, c in enumerate(number):
        if c == "X":
            out.append(draw(st.sampled_from("XxＸｘ")))
        else:
            this = style if style != "mixed" else draw(st.sampled_from(["ascii", "fullwidth", "chinese"]))
            out.append(c if this == "ascii" else fullwidth(c) if this == "fullwidth"
                       else draw(st.sampled_from(_CHINESE[c])))
        if i < len(number) - 1 and draw(st.integers(0, 3)) == 0:
            out.append(draw(st.sampled_from(_SEPARATORS)))
    return "".join(out)


_NAMES = ["李建国", "王秀英", "欧阳娜娜", "荣家湾镇", "杨林村", "鹿角村", "新墙镇", "城南社区", "张德明", "胡友才"]
_COLUMNS = ["name", "township", "village", "group"]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_written_number_in_any_listed_column_is_caught(app, data):
    number = data.draw(secret_numbers())
    value = data.draw(st.sampled_from(_NAMES)) + data.draw(st.sampled_from(["", " ", "（", "电话", "：", "组"])) \
        + data.draw(written(number)) + data.draw(st.sampled_from(["", "）", "组", " 户"]))
    column = data.draw(st.sampled_from(_COLUMNS))
    row = NoticeRow(**{**dict.fromkeys(_COLUMNS, "杨林村"), column: value}, household_size=3,
                    monitor_type="边缘易致贫户", risk_types="因病", row=5)
    with pytest.raises(DataError) as exc:
        guard_rows([row], [], app.form("ledger"), DEFAULT_HEALTH_TERMS, what="村级公示", source="x.xlsx")
    [problem] = exc.value.problems
    assert problem.code is Code.NOTICE_PRIVATE_VALUE and problem.location.row == 5
    # the message never shows the number: at most 4 + 4 of its digits survive the mask
    shown = compact(str(problem))[0]
    assert number.rstrip("X")[:9] not in shown and number[-9:] not in shown


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_written_number_in_any_message_is_masked(data):
    number = data.draw(secret_numbers())
    text = f"第 3 行「家庭人口」「{data.draw(st.sampled_from(_NAMES))}{data.draw(written(number))}」太长"
    scrubbed = scrub_shapes(text)
    assert find(scrubbed) == []
    digits = compact(scrubbed)[0]
    assert number.rstrip("X")[:9] not in digits and number[-9:] not in digits


@st.composite
def ordinary(draw) -> list[str]:
    date = draw(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2035, 12, 31)))
    pieces = st.one_of(
        st.sampled_from(_NAMES), st.sampled_from(["3组", "十二组", "二组", "第一村民小组", "边缘易致贫户"]),
        st.just(date.isoformat()), st.just(f"{date.year}/{date.month}/{date.day}"),
        st.just(f"{date.year}年{date.month}月{date.day}日"),
        st.integers(1, 9999).map(lambda n: f"YY-{n:04d}"), st.integers(0, 99999).map(str),
        st.sampled_from(["6900", "6900元", "第 12 行", "共 5 天", "5人"]),
    )
    return draw(st.lists(pieces, min_size=1, max_size=4))


@settings(max_examples=200, deadline=None)
@given(pieces=ordinary())
def test_ordinary_text_is_not_flagged(pieces):
    """Each piece as one value of a notice (strict), all of them as one message."""
    for piece in pieces:
        assert find(piece, terms=DEFAULT_HEALTH_TERMS, strict=True) == []
    text = "，".join(pieces)
    assert scrub_shapes(text) == text


def test_fanpin_error_messages_are_scrubbed_centrally():
    err = FanpinError.of(Code.VALUE_NOT_INTEGER, value="135 5841 3450")
    assert str(err) == Code.VALUE_NOT_INTEGER.format(value="135 **** 3450")
