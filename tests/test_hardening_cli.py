"""A clerk reads Chinese only: Click's help and usage errors, domain errors, OS errors;
and ``validate`` names every problem of every row, duplicates included."""

from __future__ import annotations

import ast
import errno
import re
from pathlib import Path

import click
import pytest
from openpyxl import Workbook

from fanpin_forms.cli import cli
from fanpin_forms.cli.base import FanpinCommand, FanpinGroup
from fanpin_forms.cli.i18n import MESSAGES, PLURALS, display_width, wrap_line
from fanpin_forms.errors import OS_ERRORS, Code, os_error_text

from .conftest import household, make_id

#: Click's own English words (and its metavars) that must not reach a clerk
ENGLISH = re.compile(r"\b(Usage|Options?|OPTIONS|Commands?|COMMAND|ARGS|Arguments|Show|Error|Missing|Invalid|"
                     r"required|default|Try|Aborted|TEXT|INTEGER|PATH|FILE|DIRECTORY|RANGE|FORM|COUNTY)\b")


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


ALL_COMMANDS = command_paths(cli)


def invoke(runner, args: list[str], root: click.Group = cli):
    return runner.invoke(root, args, prog_name="fanpin")


def test_every_command_is_walked():
    assert {("fill",), ("templates", "build"), ("templates", "check"), ("review", "apply"), ("spec", "check"),
            ()} <= set(ALL_COMMANDS)


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "fanpin")
def test_help_is_chinese_and_fits_80_columns(runner, path):
    result = invoke(runner, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("用法：fanpin")
    assert "选项：" in result.output and "显示本帮助并退出。" in result.output
    assert not ENGLISH.search(result.output), ENGLISH.search(result.output)
    too_wide = [line for line in result.output.splitlines() if display_width(line) > 80]
    assert not too_wide


def test_help_markers_are_chinese(runner):
    fill = invoke(runner, ["fill", "--help"]).output
    assert "[必填]" in fill and "[x>=1]" in fill
    blank = invoke(runner, ["blank", "--help"]).output
    assert "[默认：1; 1<=x<=5000]" in blank
    root = invoke(runner, ["--help"]).output
    assert "命令：" in root and "用法：fanpin [选项] 命令 [参数]..." in root and "显示版本号并退出。" in root


def test_name_pattern_is_never_broken(runner):
    lines = invoke(runner, ["fill", "--help"]).output.splitlines()
    assert any("{township}_{village}_{head_name}_{case_id}" in line for line in lines)


def test_wrapping_keeps_placeholders_and_punctuation():
    text = "文件名格式，默认 {township}_{village}_{head_name}_{case_id}（不能用身份证号、电话等敏感信息）"
    for width in range(20, 60):
        lines = wrap_line(text, width)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(line.count("{") == line.count("}") for line in lines)
        assert not any(line[0] in "，。、）" for line in lines)
        assert all(display_width(line) <= width for line in lines if "{" not in line)
    assert display_width("用法：ab") == 8


# --- usage errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["fill", "annex2"], "错误：缺少必填选项 --data（农户信息表（.xlsx/.csv/.json/.jsonl））。"),
    (["fields"], "错误：缺少必填参数 表单。"),
    (["fill", "annex2", "--data", "x.xlsx", "-o", "out", "--bogus"], "错误：没有选项「--bogus」。"),
    (["notice", "foo", "--data", "x.xlsx", "-o", "out"], "「foo」不是有效选项；可选：'village', 'county'。"),
    (["blank", "annex2", "--copies", "x", "-o", "a.docx"], "错误：'--copies' 的值无效：「x」不是有效的整数。"),
    (["blank", "annex2", "--copies", "0", "-o", "a.docx"], "0 不在允许的范围 1<=x<=5000 内。"),
    (["fill", "annex2", "--data", "x.xlsx", "-o", "out", "--template", "/nonexistent/t.docx"],
     "错误：'--template' 的值无效：文件「/nonexistent/t.docx」不存在。"),
    (["fil"], "错误：没有命令「fil」。"),
    (["check", "--data", "x.xlsx", "--as-of", "2022-02-30"], Code.VALUE_NOT_DATE.format(value="2022-02-30")),
])
def test_usage_errors_are_chinese(runner, args, message):
    result = invoke(runner, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    command = "fanpin " + args[0] if args[0] != "fil" else "fanpin"
    assert f"用法：{command} " in result.output and f"请运行「{command} --help」查看帮助。" in result.output
    assert not ENGLISH.search(result.output), result.output


def test_missing_choice_lists_the_choices(runner):
    result = invoke(runner, ["notice", "--data", "x.xlsx", "-o", "out"])
    assert result.exit_code == 2 and "缺少必填参数 village|county。\n可选：" in result.output


def test_domain_error_has_a_chinese_prefix(runner, tmp_path):
    result = invoke(runner, ["validate", "annex2", "--data", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 1
    assert result.output.startswith("错误：") and "Error" not in result.output


def test_every_click_message_is_translated():
    """Every msgid of the installed Click (read from its source) has a Chinese text."""
    root = Path(click.__file__).parent
    singles, plurals = set(), set()
    for source in root.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.id == "_" and texts:
                singles.add(texts[0])
            elif node.func.id == "ngettext" and len(texts) == 2:
                plurals.add(tuple(texts))
    assert singles and plurals
    assert singles - set(MESSAGES) == set()
    assert plurals - set(PLURALS) == set()
    assert "required" in MESSAGES  # passed to _() as a variable
    assert not any(ENGLISH.search(re.sub(r"\{[^}]*\}", "", text)) for text in [*MESSAGES.values(), *PLURALS.values()])


# --- plugin commands -------------------------------------------------------------------------


def plugin_root() -> FanpinGroup:
    """What a county plugin does in ``register_commands``: declare on the group, or add
    plain Click commands and groups."""
    root = FanpinGroup("fanpin", context_settings={"help_option_names": ["-h", "--help"]})

    @root.command("county-report")
    @click.option("--month", required=True, type=int, help="月份")
    def county_report(month: int) -> None:
        """本县月报。"""

    @click.command("plain")
    @click.option("--out", required=True, type=click.Path(), help="输出")
    def plain(out: str) -> None:
        """普通 Click 命令。"""

    @click.group("tools")
    def tools() -> None:
        """县里的工具。"""

    @tools.command("sync")
    @click.argument("name")
    def sync(name: str) -> None:
        """同步。"""

    root.add_command(plain)
    root.add_command(tools)
    return root


@pytest.mark.parametrize("path", [["county-report"], ["plain"], ["tools"], ["tools", "sync"]])
def test_plugin_commands_are_chinese(runner, path):
    root = plugin_root()
    shown = invoke(runner, [*path, "--help"], root)
    assert shown.exit_code == 0 and shown.output.startswith("用法：fanpin " + " ".join(path) + " [选项]")
    assert not ENGLISH.search(shown.output.replace("NAME", "")), shown.output
    if path != ["tools"]:
        wrong = invoke(runner, path, root)
        assert wrong.exit_code == 2 and "错误：缺少必填" in wrong.output
        assert not ENGLISH.search(wrong.output.replace("NAME", "")), wrong.output


def test_plugin_command_class_is_fanpin():
    root = plugin_root()
    assert isinstance(root.commands["county-report"], FanpinCommand)


# --- OS errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("number, text", [
    (errno.ENOENT, "文件或文件夹不存在"), (errno.EACCES, "没有权限"), (errno.EROFS, "只读"),
    (errno.ENOSPC, "磁盘空间已满"), (errno.ENAMETOOLONG, "文件名或路径太长"), (errno.EISDIR, "是一个文件夹"),
    (errno.ENOTDIR, "不是文件夹"),
])
def test_os_error_text(number, text):
    assert text in os_error_text(OSError(number, "English text"))
    assert "English" not in os_error_text(OSError(number, "English text"))


def test_os_error_text_of_real_errors(tmp_path):
    with pytest.raises(OSError) as info:
        (tmp_path / "missing.txt").read_bytes()
    assert os_error_text(info.value) == OS_ERRORS[errno.ENOENT] and "文件或文件夹不存在" in OS_ERRORS[errno.ENOENT]
    assert os_error_text(OSError(999999, "x")) == "系统错误（错误号 999999）"
    assert os_error_text(OSError("no errno")) == "系统错误"


def test_blank_into_a_path_through_a_file_is_chinese(runner, tmp_path):
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / "a-file" / "sub" / "blank.docx"
    result = invoke(runner, ["blank", "annex2", "--year", "2022", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert Code.IO_WRITE.format(path=str(out.parent), why=os_error_text(OSError(errno.ENOTDIR, ""))) in result.output
    assert "Not a directory" not in result.output and "Traceback" not in result.output


def test_too_long_folder_name_is_chinese(runner, tmp_path):
    out = tmp_path / ("村" * 100) / "blank.docx"
    result = invoke(runner, ["blank", "annex2", "--year", "2022", "-o", str(out)])
    assert result.exit_code == 1 and OS_ERRORS[errno.ENAMETOOLONG] in result.output and "File name too long" not in result.output
    assert list(tmp_path.iterdir()) == []


# --- validate: every problem of every row, duplicates ---------------------------------------------


def write_sheet(path: Path, rows: list[dict], sheet: str = "二组") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    headers = list(dict.fromkeys(k for r in rows for k in r))
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers])
    wb.save(path)
    return path


def test_validate_reports_field_and_check_problems_of_a_row_together(runner, tmp_path):
    bad_id = make_id(seq="004")[:-1] + ("0" if make_id(seq="004")[-1] != "0" else "1")
    rows = [household(身份证号码=bad_id, 风险类型="⑭"),                                   # row 2: ID + ⑭
            household(户编号="T-002", 身份证号码=make_id(seq="002"), 风险类型="⑭", 其他原因="村" * 40)]  # row 3
    path = write_sheet(tmp_path / "data.xlsx", rows)
    result = invoke(runner, ["validate", "annex2", "--data", str(path)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("data.xlsx 工作表「二组」 第2行 「身份证号码」: 身份证号 ") and "校验位错误" in lines[0]
    assert lines[1] == "data.xlsx 工作表「二组」 第2行 「其他原因」: " + Code.VALUE_REASON_REQUIRED.format(
        mark="⑭", name="其他", reason_label="其他原因")
    # an unreadable reason is its own error; the check does not add "must write a reason" to it
    assert lines[2].startswith("data.xlsx 工作表「二组」 第3行 「其他原因」: ") and "太长" in lines[2]
    assert sum("第3行" in line for line in lines) == 1
    assert "共 2 条记录，2 条有错误，共 3 个问题。" in result.output
    assert bad_id not in result.output


def test_two_rows_of_one_id_number(runner, tmp_path):
    same = make_id(seq="007")
    rows = [household(身份证号码=same), household(户编号="T-002", 户主姓名="李四"),
            household(户编号="T-003", 户主姓名="王五", 身份证号码=same, 家庭人口=-1)]
    path = write_sheet(tmp_path / "data.xlsx", rows)
    result = invoke(runner, ["validate", "annex2", "--data", str(path)])
    assert result.exit_code == 1, result.output
    masked = same[:4] + "*" * 10 + same[-4:]
    assert ("data.xlsx 工作表「二组」 第4行 「身份证号码」: " + Code.DATA_DUPLICATE_ID_NUMBER.format(
        label="身份证号码", value=masked, first=2)) in result.output
    assert "第4行 「家庭人口」" in result.output  # and the row's other problem, in the same run
    assert same not in result.output
    assert "共 3 条记录，1 条有错误，共 2 个问题。" in result.output


def test_two_rows_of_one_case_id(runner, tmp_path):
    rows = [household(), household(身份证号码=make_id(seq="002"))]
    path = write_sheet(tmp_path / "data.xlsx", rows)
    result = invoke(runner, ["validate", "annex2", "--data", str(path)])
    assert result.exit_code == 1
    assert ("data.xlsx 工作表「二组」 第3行 「户编号」: " + Code.DATA_DUPLICATE_CASE_ID.format(case_id="T-001", first=2)
            ) in result.output
