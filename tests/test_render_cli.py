"""``fanpin fill``, ``fanpin blank`` and ``fanpin templates build`` through Click's runner
(DOCX only here; the LibreOffice runs are in test_render_pdf.py)."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from fanpin_forms.errors import Code
from fanpin_forms.render.template import document_xml

from .test_render_fill import docx_text
from .test_render_samples import HOUSEHOLDS, root, write_json


def invoke(app, runner, *args):
    return runner.invoke(root, [str(a) for a in args], obj=app)


def test_fill_writes_one_docx_per_household(app, runner, tmp_path):
    data = write_json(tmp_path / "hh.json", HOUSEHOLDS)
    out = tmp_path / "out"
    result = invoke(app, runner, "fill", "annex2", "--data", data, "-o", out, "--year", 2022)
    assert result.exit_code == 0, result.output
    assert f"已生成 {len(HOUSEHOLDS)} 份「防止返贫监测对象识别审批表」（DOCX）于 {out}" in result.output
    files = sorted(p.name for p in out.iterdir())
    assert "新墙镇_清水村_张三&李四_YY-0001.docx" in files and len(files) == len(HOUSEHOLDS)
    text = docx_text(out / "新墙镇_清水村_张三&李四_YY-0001.docx")
    assert "张三&李四" in text and "430621198001010018" in text and "6900" in text


def test_any_invalid_row_means_nothing_is_written(app, runner, tmp_path):
    rows = HOUSEHOLDS + [{**HOUSEHOLDS[0], "户编号": "YY-0099", "身份证号码": "430621198001010019", "户主姓名": ""}]
    data = write_json(tmp_path / "hh.json", rows)
    out = tmp_path / "out"
    result = invoke(app, runner, "fill", "annex2", "--data", data, "-o", out, "--year", 2022)
    assert result.exit_code == 1
    assert f"第{len(rows)}行" in result.output and "户主姓名" in result.output and "校验位错误" in result.output
    assert "430621198001010019" not in result.output  # masked
    assert "未生成任何文件" in result.output
    assert not out.exists()


def test_skip_invalid_writes_the_valid_ones_and_errors_csv(app, runner, tmp_path):
    rows = HOUSEHOLDS + [{**HOUSEHOLDS[0], "户编号": "YY-0099", "身份证号码": "430621198001010019"}]
    data = write_json(tmp_path / "hh.json", rows)
    out = tmp_path / "out"
    result = invoke(app, runner, "fill", "annex2", "--data", data, "-o", out, "--year", 2022, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "警告：1 条记录有错误，已跳过" in result.output
    raw = (out / "errors.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == ["行号", "字段", "问题"]
    assert table[1][0] == str(len(rows)) and table[1][1] == "身份证号码"
    assert "430621198001010019" not in raw.decode("utf-8-sig") and "4306**********0019" in table[1][2]
    assert len([p for p in out.iterdir() if p.suffix == ".docx"]) == len(HOUSEHOLDS)


def test_sensitive_name_pattern_is_refused_before_anything_is_read(app, runner, tmp_path):
    out = tmp_path / "out"
    result = invoke(app, runner, "fill", "annex2", "--data", tmp_path / "missing.json", "-o", out,
                    "--year", 2022, "--name", "{village}_{id_number}")
    assert result.exit_code == 1
    assert "不能使用「id_number」（身份证号码）" in result.output and not out.exists()


def test_year_without_baseline_is_policy_no_baseline(app, runner, tmp_path):
    data = write_json(tmp_path / "hh.json", HOUSEHOLDS)
    result = invoke(app, runner, "fill", "annex2", "--data", data, "-o", tmp_path / "o", "--year", 2031)
    assert result.exit_code == 1
    assert Code.POLICY_NO_BASELINE.format(county="岳阳县", year=2031, known="2022") in result.output


def test_custom_name_pattern_and_template(app, runner, tmp_path):
    data = write_json(tmp_path / "hh.json", HOUSEHOLDS[:2])
    tpl = tmp_path / "annex2.docx"
    result = invoke(app, runner, "templates", "build", "annex2", "-o", tmp_path)
    assert result.exit_code == 0, result.output and tpl.is_file()
    out = tmp_path / "out"
    result = invoke(app, runner, "fill", "annex2", "--data", data, "-o", out, "--year", 2022,
                    "--template", tpl, "--name", "{index}-{case_id}")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["1-YY-0001.docx", "2-YY-0002.docx"]


def test_not_printable_form(app, runner, tmp_path):
    result = invoke(app, runner, "templates", "build", "ledger", "-o", tmp_path)
    if "没有编号为「ledger」" in result.output:  # the case ledger is another engineer's form
        return
    assert result.exit_code == 1 and "不是要打印的表" in result.output


def test_blank_docx_has_one_page_and_serial_per_copy(app, runner, tmp_path):
    out = tmp_path / "blank.docx"
    result = invoke(app, runner, "blank", "annex3", "--copies", 3, "-o", out, "--year", 2022, "--start", 7)
    assert result.exit_code == 0, result.output
    assert "已生成 3 份空白「防止返贫监测对象风险消除评估表」（流水号 7–9）" in result.output
    xml = document_xml(out.read_bytes())
    serials = re.findall(r"S:annex3-\d{8}-(\d+)", docx_text(out))
    assert serials == ["7", "8", "9"]
    assert xml.count("<w:pageBreakBefore/>") == 2
    with zipfile.ZipFile(out) as z:
        assert len([n for n in z.namelist() if n.startswith("word/media/")]) == 3
    assert "☑" not in docx_text(out) and docx_text(out).count("☐") == 3 * 14


def test_blank_rejects_other_suffixes(app, runner, tmp_path):
    result = invoke(app, runner, "blank", "annex1", "-o", tmp_path / "x.odt", "--year", 2022)
    assert result.exit_code == 1 and ".docx 或 .pdf" in result.output


def test_templates_build_writes_every_printable_form(app, runner, tmp_path):
    result = invoke(app, runner, "templates", "build", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.iterdir()} >= {"annex1.docx", "annex2.docx", "annex3.docx"}
    assert f"于 {tmp_path}" in result.output
