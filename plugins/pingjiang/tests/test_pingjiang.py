"""Tests of the 平江县 plugin, with the public API and the kit only (fanpin_forms.testing)."""

from __future__ import annotations

import json

import fanpin_forms
import fanpin_forms_pingjiang as plugin
import pdfplumber
import pytest
from fanpin_forms.testing import app_with, case, households, members, read_back, render_pdf, render_png, run_rule
from fanpin_forms.testing.households import HEADERS, write_xlsx
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


@pytest.fixture(scope="module")
def app():
    return app_with(plugin, county="pingjiang")


def test_uses_the_public_api_only():
    import ast
    import pathlib

    for path in pathlib.Path(plugin.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fanpin_forms"):
                assert node.module == "fanpin_forms", (path.name, node.module)
                assert {a.name for a in node.names} <= set(fanpin_forms.__all__)


def test_every_value_has_a_source_or_says_not_confirmed(app):
    county = app.county
    assert county.elimination_publicity_days == 7 and county.name == "平江县" and county.city == "岳阳市"
    for name in ("baselines", "publicity_days", "elimination_publicity_days", "identify_within_days",
                 "measures_within_days", "system_entry_within_months", "monthly_report_day", "comparison_exempt",
                 "aid_first_causes", "approving_body"):
        assert county.sources.get(name), name
    assert "7天" in county.sources["elimination_publicity_days"]
    assert "未核实" in county.sources["publicity_days"] and "未核实" in county.sources["baselines"]


def test_forms_of_the_county(app):
    assert app.form("annex2").version == "2022.2+pj1" and app.form("annex2").field("helper").label == "帮扶责任人"
    annex3 = app.form("annex3")
    signers = [s.role for s in annex3.stage("home_visit").signers]
    assert len(signers) >= 2 and all("核查组" in r for r in signers)
    assert "7天" in annex3.stage("village_review").text
    members_field = app.form("pj_members").field("members")
    assert members_field.type == "table"
    assert [c.label for c in members_field.columns][:5] == ["姓名", "与户主关系", "证件号码", "健康状况", "劳动技能"]
    assert {c.key: c.sensitive for c in members_field.columns}["health"] == "health"
    assert {c.key: c.sensitive for c in members_field.columns}["id_number"] == "id_number"


def test_helper_is_required_once_identified(app):
    missing = case(app, 县级审定日期="2022-06-10")
    named = case(app, 县级审定日期="2022-06-10", 帮扶责任人="李四")
    not_yet = case(app)
    found = run_rule(app, plugin.rules.helper_named, missing)
    assert [f.severity for f in found] == ["error"] and "帮扶责任人" in found[0].message
    assert run_rule(app, plugin.rules.helper_named, named) == []
    assert run_rule(app, plugin.rules.helper_named, not_yet) == []


@pytest.mark.parametrize("end, errors", [("2022-07-07", 0), ("2022-07-06", 1), ("2022-07-05", 1)])
def test_elimination_publicity_is_seven_days(app, end, errors):
    found = run_rule(app, plugin.rules.elimination_publicity_long_enough,
                     case(app, 消除公示开始日期="2022-07-01", 消除公示结束日期=end))
    assert len(found) == errors
    if found:
        assert "少于 7 天" in found[0].message and "7天" in found[0].source  # 平江's own words as 依据


@pytest.mark.parametrize("team, errors", [("张三、李四", 0), ("张三", 1), ("", 1), ("张三 李四 王五", 0)])
def test_elimination_check_team_has_two_people(app, team, errors):
    found = run_rule(app, plugin.rules.elimination_check_team,
                     case(app, 消除公示开始日期="2022-07-01", 消除核查组成员=team or None))
    assert len(found) == errors


def _rows(n=2, seed=5, size=3):
    rows = [dict(h, 家庭人口=size) for h in households(n, seed=seed, prefix="PJ")]
    return [dict(r, **members(r)) for r in rows]


def test_member_table_from_numbered_columns(app, tmp_path):
    rows = _rows(1)
    data = write_xlsx(tmp_path / "农户信息表.xlsx", rows, list(dict.fromkeys([*HEADERS, *rows[0]])))
    result = app.load_and_check(app.form("pj_members"), data)
    assert not result.errors
    got = result.records[0].values["members"]
    assert [m["name"] for m in got] == [rows[0][f"成员{i}姓名"] for i in (1, 2, 3)]
    assert got[1]["id_number"] == rows[0]["成员2证件号码"]


def test_a_wrong_member_id_names_row_and_column_masked(app, tmp_path):
    rows = _rows(1)
    bad = rows[0]["成员2证件号码"][:-1] + ("0" if rows[0]["成员2证件号码"][-1] != "0" else "1")
    rows[0]["成员2证件号码"] = bad
    data = write_xlsx(tmp_path / "农户信息表.xlsx", rows, list(dict.fromkeys([*HEADERS, *rows[0]])))
    result = app.load_and_check(app.form("pj_members"), data)
    assert result.errors
    text = " ".join(str(p.location.label) + p.message for p in result.errors)
    assert "家庭成员第2行" in text and "证件号码" in text and bad not in text


def _write_by_hand(png_path, pdf_path, row_number, texts):
    """Draw ``texts`` (one per column) into printed table row ``row_number`` of page 1, as a pen would."""
    with pdfplumber.open(str(pdf_path)) as doc:
        page = doc.pages[0]
        table = max(page.find_tables(), key=lambda t: len(t.rows))
        cells = table.rows[row_number].cells  # row 0 is the header
    img = Image.open(png_path).convert("RGB")
    scale = img.width / page.width
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, int(11 * scale))
    for (x0, top, x1, bottom), text in zip(cells, texts):
        draw.text((x0 * scale + 6, top * scale + (bottom - top) * scale * 0.25), text, fill=(20, 20, 90), font=font)
    img.save(png_path)


def test_member_form_prints_prefilled_and_reads_back(app, tmp_path):
    rows = _rows(1)
    pdf = render_pdf(app, "pj_members", tmp_path / "members.pdf", rows)
    text = pdfplumber.open(str(pdf)).pages[0].extract_text()
    assert rows[0]["成员2姓名"] in text and rows[0]["成员3证件号码"] in text  # the form itself carries them
    [page] = render_png(pdf, tmp_path / "png", dpi=200)
    _write_by_hand(page, pdf, 4, ["王小妹", "之女", "", "健康", "无劳动力", "0"])
    data = write_xlsx(tmp_path / "农户信息表.xlsx", rows, list(dict.fromkeys([*HEADERS, *rows[0]])))
    result = read_back(app, [page], data=data, review_dir=tmp_path / "review")
    [record] = result.read
    assert record.case_id == rows[0]["户编号"]
    got = record.fields["members"]
    assert [m["name"] for m in got[:3]] == [rows[0][f"成员{i}姓名"] for i in (1, 2, 3)]
    items = [n for n in record.needs_review if n.kind.value == "table_row"]
    assert [n.target for n in items] == ["members.4"]  # the printed rows match the sheet; row 4 is new
    assert "手写" in items[0].why and items[0].crop and (tmp_path / "review" / items[0].crop).is_file()
    assert items[0].value["健康状况"] != "健康"  # masked in the review
    everything = json.dumps([n.why for n in record.needs_review], ensure_ascii=False)
    assert rows[0]["成员2证件号码"] not in everything


def test_annex2_with_helper_prints_and_reads_back(app, tmp_path):
    rows = [dict(h, 帮扶责任人="李四") for h in households(2, seed=2, prefix="PJ")]
    pdf = render_pdf(app, "annex2", tmp_path / "annex2.pdf", rows)
    assert "帮扶责任人" in pdfplumber.open(str(pdf)).pages[0].extract_text()
    result = read_back(app, render_png(pdf, tmp_path / "png"))
    assert sorted(r.case_id for r in result.read) == sorted(h["户编号"] for h in rows)
    assert all(r.form_version == "2022.2+pj1" for r in result.read)


def test_printed_rows_read_back_on_a_grey_jpeg_scan_at_150_dpi(app, tmp_path):
    """A grey JPEG at 150 dpi (an office scanner's default): every printed row matches the sheet,
    wrapped cells (弱劳动力或半劳动力) included; nothing goes to review."""
    rows = [dict(r, **{f"成员{i}劳动技能": "弱劳动力或半劳动力" for i in (1, 2)}) for r in _rows(2, seed=9, size=4)]
    pdf = render_pdf(app, "pj_members", tmp_path / "members.pdf", rows)
    scans = []
    for png_page in render_png(pdf, tmp_path / "png", dpi=150):
        jpg = png_page.with_suffix(".jpg")
        Image.open(png_page).convert("L").save(jpg, quality=80)
        scans.append(jpg)
    data = write_xlsx(tmp_path / "农户信息表.xlsx", rows, list(dict.fromkeys([*HEADERS, *rows[0]])))
    result = read_back(app, scans, data=data)
    assert sorted(r.case_id for r in result.read) == sorted(r["户编号"] for r in rows)
    for record in result.read:
        assert [n.why for n in record.needs_review if n.kind.value == "table_row"] == []
        assert len(record.fields["members"]) == 4
