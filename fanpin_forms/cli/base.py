"""Click plumbing shared by every command: the error boundary and the app decorator.

Commands call the library and never catch domain errors themselves:
:class:`FanpinCommand` turns every :class:`~fanpin_forms.errors.FanpinError` into a
``ClickException`` (exit 1, every problem listed, no traceback). Plugins that add
commands through ``register_commands`` use the same classes.

Importing this module makes Click speak Chinese (:mod:`.i18n`); the classes here add
the Chinese help layout, usage line and "缺少必填选项" message, and
:class:`FanpinGroup` gives the same to plain Click commands a plugin attaches.
"""

from __future__ import annotations

import contextlib
import sys

import click

from ..app import ENV_COUNTY, App
from ..errors import FanpinError, Problem
from .i18n import ChineseContext, missing_text, short_help

MAX_SHOWN = 200  # problems printed before "…还有 N 条"
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND, ARGS = "命令", " [参数]..."


class _Chinese:
    """What every fanpin command shares: domain errors as Click errors, Chinese help."""

    context_class = ChineseContext

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.MissingParameter as exc:
            raise click.UsageError(missing_text(exc), exc.ctx or ctx) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FanpinError as exc:
            raise click.ClickException(format_problems(exc.problems)) from None

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.short_help or short_help(self.help)


class DateParam(click.ParamType):
    """A date as clerks write it: 2022-06-01, 2022/6/1, 2022年6月1日."""

    name = "日期"

    def convert(self, value, param, ctx):
        import datetime as dt

        from ..forms.fieldtypes import Invalid, parse_date

        if isinstance(value, dt.date):
            return value
        try:
            return parse_date(value)
        except Invalid as exc:
            self.fail(exc.code.format(**exc.context), param, ctx)


DATE = DateParam()

COUNTY_HELP = f"县级插件编号或县名（安装了多个县级插件时必选；也可设环境变量 {ENV_COUNTY}）"


def _choose_county(ctx: click.Context, _param, value: str | None) -> None:
    """``--county`` given after the command name: the same as before it."""
    if value:
        app = ctx.find_object(App)
        if app is not None:
            app.choose_county(value, from_environment=_from_environment(ctx))


def _from_environment(ctx: click.Context) -> bool:
    """Whether ``--county`` of ``ctx`` came from FANPIN_FORMS_COUNTY rather than the command line."""
    from click.core import ParameterSource

    return ctx.get_parameter_source("county") is ParameterSource.ENVIRONMENT


class FanpinCommand(_Chinese, click.Command):
    """A fanpin command (plugins' too). Every command accepts ``--county`` after its
    name as well as before it (``fanpin fill annex2 --county yueyang``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not any(p.name == "county" for p in self.params):
            self.params.append(click.Option(["--county"], metavar="县", expose_value=False,
                                            callback=_choose_county, help=COUNTY_HELP))


class FanpinGroup(_Chinese, click.Group):
    """A group of fanpin commands; commands declared on it or added to it speak Chinese."""

    command_class = FanpinCommand
    group_class = type  # subgroups are FanpinGroup too

    def __init__(self, *args, **kwargs):
        optional = kwargs.get("invoke_without_command")
        kwargs.setdefault("subcommand_metavar", f"[{SUBCOMMAND}]" + ARGS if optional else SUBCOMMAND + ARGS)
        super().__init__(*args, **kwargs)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Attach ``cmd``; a plain Click command gets the Chinese help layout too."""
        localise(cmd)
        super().add_command(cmd, name)


def localise(cmd: click.Command) -> None:
    """Give a plain Click command (and its subcommands) the Chinese help page and usage line."""
    if isinstance(cmd, _Chinese):
        return
    cmd.context_class = ChineseContext
    if cmd.options_metavar == "[OPTIONS]":
        cmd.options_metavar = OPTIONS_METAVAR
    if isinstance(cmd, click.Group):
        cmd.subcommand_metavar = {"COMMAND [ARGS]...": SUBCOMMAND + ARGS,
                                  "[COMMAND] [ARGS]...": f"[{SUBCOMMAND}]" + ARGS,
                                  }.get(cmd.subcommand_metavar, cmd.subcommand_metavar)
        for sub in cmd.commands.values():
            localise(sub)


def format_problems(problems: list[Problem]) -> str:
    lines = [("提示：" if p.severity == "warning" else "") + str(p) for p in problems[:MAX_SHOWN]]
    if len(problems) > MAX_SHOWN:
        lines.append(f"……还有 {len(problems) - MAX_SHOWN} 条问题未显示")
    if len(problems) > 1:
        lines.append(f"共 {len(problems)} 个问题。")
    return "\n".join(lines)


pass_app = click.make_pass_decorator(App)


def echo_problems(problems: list[Problem], *, err: bool = True) -> None:
    for p in problems[:MAX_SHOWN]:
        prefix = "提示：" if p.severity == "warning" else ""
        click.echo(prefix + str(p), err=err)
    if len(problems) > MAX_SHOWN:
        click.echo(f"……还有 {len(problems) - MAX_SHOWN} 条未显示", err=err)


@contextlib.contextmanager
def progress(label: str):
    """``(start, update)`` for a progress bar on stderr, only when stderr is a terminal.

    Call ``start(total)`` once the total is known, then ``update(n)`` per n items done."""
    bar = None

    def start(total: int) -> None:
        nonlocal bar
        if total and sys.stderr.isatty():
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()

    def update(n: int) -> None:
        if bar is not None:
            bar.update(n)

    try:
        yield start, update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
