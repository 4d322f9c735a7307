"""Click in Chinese: its own messages, its help layout and wrapping for CJK text.

Click marks every text it prints with :func:`gettext.gettext` (imported into each of
its modules as ``_``) and :func:`gettext.ngettext`. :func:`install` replaces those two
names in Click's modules with lookups in :data:`MESSAGES` and :data:`PLURALS`, so
usage errors (缺少必填选项, 选项无效, 值无效 …) and ``--help`` pages ("用法：",
"选项：", "显示本帮助并退出。", "[必填]", "[默认：1]") are Chinese for every command,
plugin commands included, without touching the process-wide gettext domain.
A test checks that every msgid of the installed Click has a translation here.

:class:`ChineseHelpFormatter` lays out help pages by display width (a CJK character
takes two columns), puts the heading colon in full width, never breaks a line
inside a ``{…}`` placeholder or an ASCII word, and keeps CJK closing punctuation
off the start of a line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator

import click
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.shell_completion
import click.termui
import click.types
import click.utils
from click import _termui_impl

#: Click's msgids (as in its source) → Chinese; placeholders keep their names.
MESSAGES: dict[str, str] = {
    # exceptions.py
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "请运行「{command} {option}」查看帮助。",
    "Invalid value: {message}": "值无效：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Missing argument": "缺少必填参数",
    "Missing option": "缺少必填选项",
    "Missing parameter": "缺少必填参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少必填参数：{param_name}",
    "No such option {name!r}.": "没有选项「{name}」。",
    "No such command {name!r}.": "没有命令「{name}」。",
    "unknown error": "未知错误",
    "Could not open file {filename!r}: {message}": "无法打开文件「{filename}」：{message}",
    # core.py
    "Aborted!": "已中止。",
    "deprecated": "已停用",
    "Missing command.": "缺少命令。",
    "Options": "选项",
    "Positional arguments": "参数",
    "Commands": "命令",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}":
        "提示：命令「{name}」已停用。{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}":
        "提示：{param_type}「{name}」已停用。{extra_message}",
    "Value must be an iterable.": "值必须是多个值的列表。",
    "Could not determine name for option with declarations {decls!r}":
        "无法确定选项 {decls} 的名称",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument "
    "instead? Did you mean to pass '--{name}'?":
        "没有定义选项却给出了名称（{name}）：是要定义参数，还是要写「--{name}」？",
    "env var: {var}": "环境变量：{var}",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "(dynamic)": "（运行时确定）",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.":
        "参数只能有一个名称，实际有 {length} 个：{decls}。",
    "Name '{name}' defined twice": "名称「{name}」定义了两次",
    "Boolean option {decl!r} cannot use the same flag for true/false.":
        "开关选项 {decl} 不能用同一个写法同时表示“是”和“否”。",
    # decorators.py
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不再询问，直接确认。",
    "%(prog)s, version %(version)s": "%(prog)s 版本 %(version)s",
    "Show the version and exit.": "显示版本号并退出。",
    "Show this message and exit.": "显示本帮助并退出。",
    # formatting.py
    "Usage:": "用法：",
    # parser.py
    "Invalid start character for option ({option})": "选项的开头字符无效（{option}）",
    "Option {name!r} does not take a value.": "选项「{name}」后面不能带值。",
    "Argument {name!r} takes {nargs} values.": "参数「{name}」需要 {nargs} 个值。",
    # shell_completion.py
    "Couldn't detect Bash version, shell completion is not supported.":
        "无法识别 Bash 版本，不支持命令补全。",
    "Shell completion is not supported for Bash versions older than 4.4.":
        "Bash 4.4 以前的版本不支持命令补全。",
    # termui.py
    "Press any key to continue...": "按任意键继续……",
    "Repeat for confirmation": "请再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入的内容不一致。",
    "Unknown color {colour!r}": "未知的颜色「{colour}」",
    "Error: invalid input": "错误：输入无效",
    # types.py
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "Choice({choices})": "可选（{choices}）",
    "{value} is not in the range {range}.": "{value} 不在允许的范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "「{value}」不是有效的是/否值；可填：{states}",
    "{value!r} is not a valid {number_type}.": "「{value}」不是有效的{number_type}。",
    "{value!r} is not a valid UUID.": "「{value}」不是有效的 UUID。",
    "{name} {filename!r} is a file.": "{name}「{filename}」是一个文件，这里需要文件夹。",
    "{name} {filename!r} is a directory.": "{name}「{filename}」是一个文件夹，这里需要文件。",
    "{name} {filename!r} is not readable.": "{name}「{filename}」没有读取权限。",
    "{name} {filename!r} is not writable.": "{name}「{filename}」没有写入权限。",
    "{name} {filename!r} is not executable.": "{name}「{filename}」不能执行。",
    "{name} {filename!r} does not exist.": "{name}「{filename}」不存在。",
    # utils.py, _termui_impl.py, _winconsole.py
    "d": "天",  # the progress bar's "1d 02:03:04"
    "Unknown standard stream '{name}'": "未知的标准流「{name}」",
    "{editor}: Editing failed": "{editor}：编辑失败",
    "{editor}: Editing failed: {e}": "{editor}：编辑失败：{e}",
    "Windows error: {error}": "Windows 错误：{error}",
}

#: Click's (singular, plural) msgids → Chinese, which has one form for both.
PLURALS: dict[tuple[str, str], str] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        "多余的参数（{args}）",
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."):
        "需要 {nargs} 个值，实际给了 {len} 个。",
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        "您是不是要写 {possibilities}？",
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        "选项「{name}」后面要写一个值。",
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        "「{value}」不是有效选项；可选：{choices}。",
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."):
        "「{value}」不符合格式 {formats}。",
    ("{len_type} values are required, but {len_value} was given.",
     "{len_type} values are required, but {len_value} were given."):
        "需要 {len_type} 个值，实际给了 {len_value} 个。",
}

#: Click's type names, shown as metavars (TEXT, INTEGER) and in "不是有效的…".
TYPE_NAMES: dict[type, str] = {
    click.types.UnprocessedParamType: "文字",
    click.types.StringParamType: "文字",
    click.types.IntParamType: "整数",
    click.types.IntRange: "整数",
    click.types.FloatParamType: "数字",
    click.types.FloatRange: "数字",
    click.types.BoolParamType: "是/否",
    click.types.DateTime: "日期时间",
    click.types.UUIDParameterType: "UUID",
    click.types.File: "文件",
}

_MODULES = (click.core, click.decorators, click.exceptions, click.formatting, click.parser,
            click.shell_completion, click.termui, click.types, click.utils, _termui_impl)


def gettext(message: str) -> str:
    """Click's text in Chinese; a text not in the catalogue stays as it is."""
    return MESSAGES.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Click's plural texts in Chinese (one form for every ``n``)."""
    return PLURALS.get((singular, plural), singular if n == 1 else plural)


def install() -> None:
    """Make Click speak Chinese in this process; safe to call more than once.

    Must run before commands are declared: ``click.Path`` names itself (文件,
    文件夹) when it is created."""
    for module in _MODULES:
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext
    for cls, name in TYPE_NAMES.items():
        cls.name = name


# --- width-aware wrapping ---------------------------------------------------------

#: may not start a line (closing marks) / may not end a line (opening marks)
_NO_START = set("，。、；：？！）】」』》〉”’…,.;:?!)]}%")
_NO_END = set("（【「『《〈“‘([")


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: CJK and full-width characters take two."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _units(text: str) -> Iterator[str]:
    """Unbreakable pieces of a line: a run of spaces, a ``{…}`` placeholder together
    with the ASCII around it, an ASCII word, or one CJK character."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            j = i
            while j < n and text[j].isspace():
                j += 1
        elif _is_wide(ch):
            j = i + 1
        else:
            j = i
            depth = 0
            while j < n and (depth or (not text[j].isspace() and not _is_wide(text[j]))):
                depth += text[j] == "{"
                depth -= text[j] == "}" and depth > 0
                j += 1
        yield text[i:j]
        i = j


def _glued(text: str) -> list[str]:
    """Units, with closing marks glued to what they close and opening marks to what
    they open, so that neither stands alone at a line's edge."""
    out: list[str] = []
    pending = ""
    for unit in _units(text):
        if out and not unit.isspace() and unit[0] in _NO_START and not pending:
            out[-1] += unit
        elif unit[-1] in _NO_END and not unit.isspace():
            pending += unit
        else:
            out.append(pending + unit)
            pending = ""
    if pending:
        out.append(pending)
    return out


def wrap_line(text: str, width: int) -> list[str]:
    """One paragraph broken into lines of at most ``width`` columns (a unit wider
    than the line, such as a long placeholder, gets a line of its own)."""
    lines: list[str] = []
    line, used = "", 0
    for unit in _glued(" ".join(text.split())):
        w = display_width(unit)
        if unit.isspace():
            if line and used + w < width:
                line, used = line + unit, used + w
            elif line:
                lines.append(line.rstrip())
                line, used = "", 0
            continue
        if line and used + w > width:
            lines.append(line.rstrip())
            line, used = "", 0
        line, used = line + unit, used + w
    if line.strip():
        lines.append(line.rstrip())
    return lines


def wrap_text(text: str, width: int, indent: str = "") -> str:
    """Paragraphs (blank-line separated) rewrapped to ``width`` columns and indented;
    a paragraph that starts with a ``\\b`` line keeps its line breaks, as in Click."""
    out: list[str] = []
    for paragraph in _paragraphs(text):
        lines = paragraph.splitlines()
        if lines and lines[0].strip() == "\b":
            out.append("\n".join(indent + line for line in lines[1:]))
        else:
            lead = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
            body = wrap_line(_join(lines), max(width - len(indent) - lead, 10))
            out.append("\n".join(indent + " " * lead + line for line in body))
    return "\n\n".join(out)


def _join(lines: list[str]) -> str:
    """Lines of one paragraph as one line: no space where a line break fell between
    two CJK characters (Chinese has no spaces between words)."""
    out = ""
    for line in (line.strip() for line in lines):
        if out and line and not (_is_wide(out[-1]) and _is_wide(line[0])):
            out += " "
        out += line
    return out


def _paragraphs(text: str) -> Iterable[str]:
    buf: list[str] = []
    for line in text.expandtabs().splitlines():
        if line.strip():
            buf.append(line)
        elif buf:
            yield "\n".join(buf)
            buf = []
    if buf:
        yield "\n".join(buf)


class ChineseHelpFormatter(click.HelpFormatter):
    """Click's help layout measured in display columns, with Chinese punctuation."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        prefix = gettext("Usage:") if prefix is None else prefix
        lead = f"{'':>{self.current_indent}}{prefix}{prog}"
        if not args:
            self.write(lead + "\n")
            return
        hang = " " * display_width(lead + " ")
        lines = wrap_line(args, max(self.width - display_width(hang), 20))
        self.write(lead + " " + lines[0] + "\n" + "".join(f"{hang}{line}\n" for line in lines[1:]))

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_text(self, text: str) -> None:
        self.write(wrap_text(text, self.width, " " * self.current_indent) + "\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_width = min(max((display_width(first) for first, _ in rows), default=0), col_max)
        first_col = first_width + col_spacing
        indent = " " * self.current_indent
        hang = " " * (self.current_indent + first_col)
        text_width = max(self.width - first_col - self.current_indent, 10)
        for first, second in rows:
            self.write(indent + first)
            if not second:
                self.write("\n")
                continue
            if display_width(first) <= first_width:
                self.write(" " * (first_col - display_width(first)))
            else:
                self.write("\n" + hang)
            lines = wrap_text(second, text_width).splitlines() or [""]
            self.write(lines[0] + "\n" + "".join(f"{hang}{line}\n" if line else "\n" for line in lines[1:]))


class ChineseContext(click.Context):
    """A context whose help pages use :class:`ChineseHelpFormatter`."""

    formatter_class = ChineseHelpFormatter


def short_help(help_text: str | None) -> str:
    """The first sentence of a command's help, for the command list.

    Click's own shortening cuts at spaces and turns a long Chinese sentence
    (which has none) into "..."; a full sentence wraps in the list instead."""
    paragraph = (help_text or "").strip().split("\n\n")[0]
    lines = [line for line in paragraph.splitlines() if line.strip() != "\b"]
    text = "".join(line.strip() for line in lines)
    end = text.find("。")
    return text[: end + 1] if end >= 0 else text


def missing_text(exc: click.MissingParameter) -> str:
    """「缺少必填选项 --data（农户信息表…）」 for an option or argument left out."""
    param = exc.param
    if param is None:
        return exc.format_message()
    if isinstance(param, click.Option):
        kind, name = "选项", " / ".join(param.opts)
    else:
        kind, name = "参数", param.make_metavar(exc.ctx) if exc.ctx else (param.name or "")
    help_text = getattr(param, "help", None)
    extra = param.type.get_missing_message(param=param, ctx=exc.ctx) if exc.ctx else None
    text = f"缺少必填{kind} {name}" + (f"（{help_text}）" if help_text else "") + "。"
    return text + (f"\n{extra}" if extra else "")


install()
