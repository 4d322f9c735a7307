"""Public notices (村级公示, 县级公告): content, layout, and that nothing sensitive gets out.

二、5：“县级公告、村级公示中不得公开农户身份证号码、手机号、银行账号、健康状况等敏感信息。”
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn

from fanpin_forms.app import App
from fanpin_forms.cli import cli
from fanpin_forms.errors import Code, FanpinError
from fanpin_forms.privacy.idcard import check_char
from fanpin_forms.cases.notices import (
    COLUMNS, OBJECTION, NoticeRow, county_docx, county_html, county_text, find_leaks, ledger_secrets, notice_row,
    render_county, render_village, select_county, select_village, village_docx, village_text, write_files,
)

NAMES = ["李建国", "王秀英", "张德明", "刘桂兰", "陈志强", "杨淑珍", "黄春生", "赵玉梅", "周海涛", "吴丽华", "欧阳娜娜",
         "徐长根", "孙凤英", "胡友才"]
HEALTH = ["尿毒症长期透析", "患有精神分裂症", "二级肢体残疾", "乳腺癌术后化疗", "糖尿病并发症", "重度抑郁症服药中",
          "肝硬化失代偿期", "慢性肾衰竭三期", "脑梗后遗症偏瘫", "类风湿关节炎", "冠心病支架术后", "肺结核治疗期",
          "白血病化疗中", "帕金森病晚期"]


def make_id(rng: random.Random) -> str:
    first17 = f"430621{rng.randint(1940, 1995)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return first17 + check_char(first17)


def digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def sensitive_rows() -> list[dict]:
    """14 households full of (made-up, realistic) sensitive values, in every stage a notice lists."""
    rng = random.Random(20220517)
    rows = []
    for i, name in enumerate(NAMES):
        row = {
            "户编号": f"YY-{i + 1:03d}", "户主姓名": name, "身份证号码": make_id(rng), "家庭人口": (i % 5) + 1,
            "联系电话": f"1{rng.choice('3456789')}{digits(rng, 9)}", "乡镇": "荣家湾镇",
            "村": "杨林村" if i < 10 else "鹿角村", "组": f"{i % 4 + 1}", "风险类型": "⑥⑧" if i % 2 else "⑭",
            "其他原因": f"{HEALTH[(i + 3) % len(HEALTH)]}，电话189{digits(rng, 8)}",
            "健康状况": HEALTH[i], "银行账号": f"6217{digits(rng, 15)}",
            "监测对象类型": ["边缘易致贫户", "脱贫不稳定户", "突发严重困难户"][i % 3], "民政救助类型": "无",
            "风险发现日期": "2022-06-01", "入户核实日期": "2022-06-02", "民主评议日期": "2022-06-03",
            "公示开始日期": "2022-06-04", "公示结束日期": "2022-06-08", "信息比对日期": "2022-06-05",
        }
        if 6 <= i < 10:  # approved, not yet announced
            row.update({"乡镇审核日期": "2022-06-09", "县级审定日期": "2022-06-10"})
        if i >= 10:  # identified last year; elimination in publicity (10, 11) or approved (12, 13)
            row.update({"公示开始日期": "2021-06-04", "公示结束日期": "2021-06-08", "信息比对日期": "2021-06-05",
                        "风险发现日期": "2021-06-01", "入户核实日期": "2021-06-02", "民主评议日期": "2021-06-03",
                        "乡镇审核日期": "2021-06-09", "县级审定日期": "2021-06-10", "县级公告日期": "2021-06-11",
                        "消除公示开始日期": "2022-07-01", "消除公示结束日期": "2022-07-05",
                        "年人均纯收入": "8000", "收入年度": 2022})
            if i >= 12:
                row["消除县级审定日期"] = "2022-07-08"
        rows.append(row)
    return rows


def needles(rows: list[dict]) -> dict[bytes, str]:
    """Every sensitive value whole, and every run of 6 digits taken from a numeric one."""
    out: dict[bytes, str] = {}
    for row in rows:
        for key in ("身份证号码", "联系电话", "银行账号", "健康状况", "其他原因"):
            value = str(row[key])
            out[value.encode()] = f"{key} of {row['户编号']}"
            for part in re.split(r"[，,]", value):
                if part and not part.isascii():
                    out[part.encode()] = f"{key} part of {row['户编号']}"
                digits = re.sub(r"\D", "", part)
                for i in range(len(digits) - 5):
                    out[digits[i:i + 6].encode()] = f"6 digits of {key} of {row['户编号']}"
    return out


def write_ledger(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def app() -> App:
    return App(county="yueyang")


def run_cli(app: App, *args: str):
    return CliRunner().invoke(cli, list(args), obj=app, catch_exceptions=False)


def every_byte(out_dir: Path) -> list[tuple[str, bytes]]:
    """(where, bytes) for every file name, every file, every part inside each DOCX."""
    blobs = []
    for path in sorted(out_dir.rglob("*")):
        blobs.append((f"name {path.name}", path.name.encode()))
        data = path.read_bytes()
        blobs.append((str(path.name), data))
        if path.suffix == ".docx":
            with zipfile.ZipFile(path) as z:
                for member in z.namelist():
                    blobs.append((f"{path.name}:{member}", z.read(member)))
                    blobs.append((f"{path.name}:{member} (name)", member.encode()))
    return blobs


def test_no_sensitive_value_in_any_byte_of_any_notice(app, tmp_path):
    rows = sensitive_rows()
    data = write_ledger(tmp_path, rows)
    out = tmp_path / "out"
    village = run_cli(app, "notice", "village", "--data", str(data), "-o", str(out))
    assert village.exit_code == 0, village.output
    county = run_cli(app, "notice", "county", "--data", str(data), "-o", str(out), "--date", "2022-07-10")
    assert county.exit_code == 0, county.output
    files = sorted(p.name for p in out.iterdir())
    assert len([f for f in files if f.endswith(".docx")]) == 3 and len([f for f in files if f.endswith(".html")]) == 1
    blobs = every_byte(out)
    # the notices do list the households …
    docx_text = b"".join(b for where, b in blobs if where.endswith("word/document.xml"))
    for name in NAMES:
        assert name.encode() in docx_text
    # … and nothing sensitive, whole or in part, anywhere
    leaks = [(where, what) for where, blob in blobs for needle, what in needles(rows).items() if needle in blob]
    assert leaks == []
    # the outputs themselves show nothing of the console, either
    assert not [what for needle, what in needles(rows).items() if needle in (village.output + county.output).encode()]


def test_an_id_typed_into_the_group_column_stops_the_notice(app, tmp_path):
    rows = sensitive_rows()
    rows[3]["组"] = "二组" + rows[3]["身份证号码"]  # a clerk typed the ID into the group column
    out = tmp_path / "out"
    result = run_cli(app, "notice", "village", "--data", str(write_ledger(tmp_path, rows)), "-o", str(out))
    assert result.exit_code == 1
    assert "ledger.json 第4行 「村民小组」" in result.output and "就是本户的身份证号码" in result.output
    assert rows[3]["身份证号码"] not in result.output and not out.exists()


def test_if_a_value_slipped_through_the_guard_would_stop_it(app, tmp_path, monkeypatch):
    """Defence in depth: without the check before layout, the ID typed into 组 is caught before writing."""
    import fanpin_forms.cases.notices.select as select

    monkeypatch.setattr(select, "guard_rows", lambda *args, **kwargs: None)
    rows = sensitive_rows()
    rows[3]["组"] = "二组" + rows[3]["身份证号码"]
    out = tmp_path / "out"
    result = run_cli(app, "notice", "village", "--data", str(write_ledger(tmp_path, rows)), "-o", str(out))
    assert result.exit_code == 1
    assert "出现了敏感信息（身份证号码" in result.output and rows[3]["身份证号码"] not in result.output
    assert not out.exists()


def test_notices_list_the_right_households(app, tmp_path):
    rows = sensitive_rows()
    result = app.load_and_check(app.form("ledger"), write_ledger(tmp_path, rows))
    assert not result.errors
    form = app.form("ledger")
    village = select_village(result.records, form)
    assert [(n.village, n.start.isoformat(), [r.name for r in n.identify], [r.name for r in n.eliminate])
            for n in village.notices] == [
        ("杨林村", "2022-06-04", NAMES[:6], []),
        ("鹿角村", "2022-07-01", [], NAMES[10:12]),
    ]
    county = select_county(result.records, form, app.county, date=dt.date(2022, 7, 10))
    [n] = county.notices
    assert [r.name for r in n.identify] == NAMES[6:10] and [r.name for r in n.eliminate] == NAMES[12:14]
    # reprint by range: publicity starting 2021-06-04 (approved since)
    old = select_village(result.records, form, date_from=dt.date(2021, 6, 1), date_to=dt.date(2021, 6, 30))
    assert [[r.name for r in n.identify] for n in old.notices] == [NAMES[10:14]]
    with pytest.raises(FanpinError, match="晚于"):
        select_county(result.records, form, app.county, date=dt.date(2022, 7, 10), date_from=dt.date(2022, 7, 2),
                      date_to=dt.date(2022, 7, 1))


def test_notice_row_is_a_whitelist(app, tmp_path):
    result = app.load_and_check(app.form("ledger"), write_ledger(tmp_path, sensitive_rows()))
    record = result.records[0]
    row = notice_row(record, app.form("ledger"))
    # the whitelist, the row for messages, and the county's added columns (register_notices; none here)
    assert set(row.__dataclass_fields__) == {c for c, _ in COLUMNS} | {"row", "extra"}
    assert row == NoticeRow("李建国", "荣家湾镇", "杨林村", "1组", 1, "边缘易致贫户", "其他", row=1)
    assert row.extra == ()
    assert notice_row(result.records[1], app.form("ledger")).risk_types == "因病、因残"


def test_village_notice_wording_and_layout(app, tmp_path):
    result = app.load_and_check(app.form("ledger"), write_ledger(tmp_path, sensitive_rows()))
    notice = select_village(result.records, app.form("ledger")).notices[0]
    text = village_text(notice)
    assert text["title"] == "荣家湾镇杨林村防止返贫监测对象民主评议结果公示"
    assert text["period"] == "公示期：2022年6月4日至2022年6月8日（共5天）。"
    assert text["objection"] == OBJECTION == "如有异议，请于公示期内向村民委员会或乡镇人民政府反映。"
    assert text["signer"] == "杨林村村民委员会" and text["date"] == "2022年6月4日"
    doc = Document(io.BytesIO(village_docx(notice)))
    paragraphs = [p.text for p in doc.paragraphs]
    assert paragraphs[0] == text["title"] and text["period"] in paragraphs and OBJECTION in paragraphs
    assert "一、拟纳入防止返贫监测对象（6户16人）" in paragraphs
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["序号", "户主姓名", "村民小组", "家庭人口", "监测对象类型", "风险类型"]
    assert [c.text for c in table.rows[1].cells] == ["1", "李建国", "1组", "1人", "边缘易致贫户", "其他"]
    _assert_a4_and_fonts(doc)


def test_county_notice_docx_and_html(app, tmp_path):
    result = app.load_and_check(app.form("ledger"), write_ledger(tmp_path, sensitive_rows()))
    notice = select_county(result.records, app.form("ledger"), app.county, date=dt.date(2022, 7, 10)).notices[0]
    text = county_text(notice)
    assert text["title"] == "岳阳县乡村振兴局关于防止返贫监测对象识别和风险消除情况的公告"
    assert text["title"].startswith(f"{app.county.approving_body}关于") and text["title"].endswith("的公告")
    headings = [h for h, _ in text["sections"]]
    assert headings[0].startswith("一、于2022年6月10日审定新识别防止返贫监测对象4户")
    assert headings[1] == "二、于2022年7月8日审定风险消除的监测对象2户7人。"
    doc = Document(io.BytesIO(county_docx(notice)))
    assert [c.text for c in doc.tables[0].rows[0].cells] == ["序号", *(h for _, h in COLUMNS)]
    assert doc.paragraphs[-1].text == "2022年7月10日" and doc.paragraphs[-2].text == "岳阳县乡村振兴局"
    _assert_a4_and_fonts(doc)
    html = county_html(notice)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in html
    assert f"<h1>{text['title']}</h1>" in html and "<td>徐长根</td>" not in html
    assert "<td>黄春生</td>" in html and "<td>孙凤英</td>" in html


def test_html_is_autoescaped(app, tmp_path):
    rows = sensitive_rows()[6:7]
    rows[0]["户主姓名"] = "<script>x</script>"
    result = app.load_and_check(app.form("ledger"), write_ledger(tmp_path, rows))
    notice = select_county(result.records, app.form("ledger"), app.county, date=dt.date(2022, 7, 10)).notices[0]
    html = county_html(notice)
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def _assert_a4_and_fonts(doc) -> None:
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4 (stored in twips)
    for p in doc.paragraphs:
        for run in p.runs:
            fonts = run._element.rPr.rFonts
            assert fonts.get(qn("w:eastAsia")) in ("宋体", "仿宋")
    cp = doc.core_properties
    assert (cp.author, cp.last_modified_by, cp.title, cp.comments, cp.keywords, cp.subject) == ("",) * 6


def test_docx_package_carries_no_template_leftovers(app, tmp_path):
    result = app.load_and_check(app.form("ledger"), write_ledger(tmp_path, sensitive_rows()))
    blob = village_docx(select_village(result.records, app.form("ledger")).notices[0])
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        names = z.namelist()
        assert not [n for n in names if "thumbnail" in n or n.startswith("customXml")]
        assert b"python-docx" not in z.read("docProps/core.xml")
        assert b"Microsoft" not in z.read("docProps/app.xml")


def test_file_names_come_from_places_and_dates_only(app, tmp_path):
    result = app.load_and_check(app.form("ledger"), write_ledger(tmp_path, sensitive_rows()))
    form = app.form("ledger")
    names = [*render_village(select_village(result.records, form)),
             *render_county(select_county(result.records, form, app.county, date=dt.date(2022, 7, 10)))]
    assert names == ["荣家湾镇杨林村_村级公示_2022-06-04至2022-06-08.docx",
                     "荣家湾镇鹿角村_村级公示_2022-07-01至2022-07-05.docx",
                     "岳阳县_防返贫监测县级公告_2022-07-10.docx", "岳阳县_防返贫监测县级公告_2022-07-10.html"]


def test_the_leak_guard_stops_everything(app, tmp_path):
    rows = sensitive_rows()
    result = app.load_and_check(app.form("ledger"), write_ledger(tmp_path, rows))
    secrets = ledger_secrets(result.records, app.form("ledger"))
    assert {kind for kind, _ in secrets} == {"id_number", "phone", "bank_account", "health"}
    out = tmp_path / "out"
    files = {"ok.html": b"<p>nothing</p>", "bad.html": f"<p>{rows[2]['身份证号码'][3:11]}</p>".encode()}
    with pytest.raises(FanpinError) as exc:
        write_files(files, out, secrets, "县级公告")
    assert not out.exists()
    assert exc.value.problems[0].code is Code.NOTICE_SENSITIVE
    assert rows[2]["身份证号码"][3:11] not in str(exc.value)
    assert find_leaks({f"x{rows[0]['联系电话']}.html": b""}, secrets) == [(f"文件名 x{rows[0]['联系电话']}.html", "phone")]
    assert find_leaks({"h.html": HEALTH[5].encode()}, secrets) == [("h.html", "health")]


def test_nothing_to_publish_is_an_error(app, tmp_path):
    rows = [r for r in sensitive_rows() if "县级审定日期" not in r]
    result = run_cli(app, "notice", "county", "--data", str(write_ledger(tmp_path, rows)), "-o", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert Code.NOTICE_NOTHING.format(data="ledger.json", what="列入县级公告",
                                      why="没有已县级审定、尚未公告的户") in result.output
    assert not (tmp_path / "o").exists()


def test_an_invalid_ledger_row_stops_the_notice(app, tmp_path):
    rows = sensitive_rows()
    rows[2]["身份证号码"] = rows[2]["身份证号码"][:-1] + ("0" if rows[2]["身份证号码"][-1] != "0" else "1")
    result = run_cli(app, "notice", "village", "--data", str(write_ledger(tmp_path, rows)), "-o", str(tmp_path / "o"))
    assert result.exit_code == 1 and "第3行" in result.output and "校验位错误" in result.output
    assert rows[2]["身份证号码"] not in result.output
    assert not (tmp_path / "o").exists()


def test_short_publicity_is_flagged_when_printing(app, tmp_path):
    rows = sensitive_rows()[:1]
    rows[0]["公示结束日期"] = "2022-06-07"
    result = run_cli(app, "notice", "village", "--data", str(write_ledger(tmp_path, rows)), "-o", str(tmp_path / "o"))
    assert result.exit_code == 0
    assert "只有 4 天，少于 5 天" in result.output
