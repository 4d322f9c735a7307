"""The ``fanpin`` command line: the root group and where each command lives.

* ``forms.py``  — spec check, forms, fields, plugins, validate (data in)
* ``render.py`` — templates build/check, fill, blank (paper out)
* ``cases.py``  — check, notice (case rules, public notices)
* ``readback.py`` — parse, review apply (signed scans back into records)
* ``base.py``   — the error boundary and ``pass_app`` every command uses

One :class:`~fanpin_forms.app.App` lives in ``ctx.obj``. User-facing text is Chinese.
"""

from __future__ import annotations

import sys

import click

from .. import __version__
from ..app import ENV_COUNTY, App
from ..errors import FanpinError
from . import cases, forms, readback, render
from .base import FanpinCommand, FanpinGroup, echo_problems, format_problems, pass_app


@click.group(cls=FanpinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--county", envvar=ENV_COUNTY, metavar="县",
              help=f"县级插件编号或县名（安装了多个县级插件时必选；也可设环境变量 {ENV_COUNTY}）")
@click.version_option(__version__, prog_name="fanpin")
@click.pass_context
def cli(ctx: click.Context, county: str | None) -> None:
    """防止返贫动态监测和帮扶表单工具：校验台账、批量填表、读取回收的签字扫描件。"""
    if ctx.obj is None:
        ctx.obj = _make_app()
    if county:
        ctx.obj.choose_county(county)


def _make_app() -> App:
    try:
        return App()
    except FanpinError as exc:
        raise click.ClickException(format_problems(exc.problems)) from None


for _module in (forms, render, cases, readback):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    """Console-script entry point: load plugins once, let them add commands, run."""
    try:
        app = _make_app()
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    app.pm.hook.register_commands(cli=cli)
    cli.main(prog_name="fanpin", obj=app)


__all__ = ["FanpinCommand", "FanpinGroup", "cli", "echo_problems", "main", "pass_app"]
