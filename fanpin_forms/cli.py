"""The ``fanpin`` command line.

One :class:`~fanpin_forms.app.App` lives in ``ctx.obj``. Commands call the library
and never catch domain errors themselves: :class:`FanpinCommand` turns every
:class:`~fanpin_forms.errors.FanpinError` into a ``ClickException`` (exit 1, the
problems listed, no traceback). User-facing text is Chinese.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .app import ENV_COUNTY, App
from .errors import FanpinError, Problem

MAX_SHOWN = 200  # problems printed before "…还有 N 条"


class FanpinCommand(click.Command):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FanpinError as exc:
            raise click.ClickException(format_problems(exc.problems)) from None


class FanpinGroup(click.Group):
    command_class = FanpinCommand
    group_class = type  # subgroups are FanpinGroup too

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FanpinError as exc:
            raise click.ClickException(format_problems(exc.problems)) from None


def format_problems(problems: list[Problem]) -> str:
    lines = [str(p) for p in problems[:MAX_SHOWN]]
    if len(problems) > MAX_SHOWN:
        lines.append(f"……还有 {len(problems) - MAX_SHOWN} 条问题未显示")
    if len(problems) > 1:
        lines.append(f"共 {len(problems)} 个问题。")
    return "\n".join(lines)


pass_app = click.make_pass_decorator(App)


@click.group(cls=FanpinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--county", envvar=ENV_COUNTY, metavar="COUNTY",
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


def echo_problems(problems: list[Problem], *, err: bool = True) -> None:
    for p in problems[:MAX_SHOWN]:
        prefix = "提示：" if p.severity == "warning" else ""
        click.echo(prefix + str(p), err=err)
    if len(problems) > MAX_SHOWN:
        click.echo(f"……还有 {len(problems) - MAX_SHOWN} 条未显示", err=err)


# --- spec ---------------------------------------------------------------------


@cli.group(cls=FanpinGroup)
def spec() -> None:
    """表单定义（YAML）相关命令。"""


@spec.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_app
def spec_check(app: App, paths: tuple[Path, ...]) -> None:
    """校验表单定义文件，列出每个问题（文件:行:列: 说明）。"""
    from .errors import SpecError
    from .spec import FormExtension, apply_extension, load_spec

    problems: list[Problem] = []
    ok = 0
    for path in _expand(paths, "*.yaml", "*.yml"):
        try:
            spec = load_spec(path, app.field_types, display_name=str(path))
            if isinstance(spec, FormExtension):
                base = app.forms.get(spec.extends)
                if base is not None:
                    apply_extension(base, spec, app.field_types)
            ok += 1
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    click.echo(f"{ok} 个表单定义文件全部通过校验。")


def _expand(paths: tuple[Path, ...], *patterns: str) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for pattern in patterns for p in path.glob(pattern)))
        else:
            out.append(path)
    return out


# --- forms, fields, plugins -------------------------------------------------------


@cli.command("forms")
@pass_app
def forms_cmd(app: App) -> None:
    """列出可用的表单。"""
    for form in app.forms.values():
        click.echo(f"{form.id}\t{form.annex}\t{form.title}\t版本 {form.version}\t（{form.plugin}）")


@cli.command("fields")
@click.argument("form_id", metavar="FORM")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@pass_app
def fields_cmd(app: App, form_id: str, as_json: bool) -> None:
    """打印表单的数据字典：字段键、名称、类型、是否必填、是否敏感、可用列名。"""
    from .datadict import data_dictionary

    rows = data_dictionary(app.form(form_id), app.county)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo("字段键\t名称\t类型\t必填\t敏感\t可用列名")
    for r in rows:
        click.echo("\t".join([r["key"], r["label"], r["type"], "是" if r["required"] else "",
                              r["sensitive"] or "", "、".join(r["headers"])]))


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@pass_app
def plugins_cmd(app: App, as_json: bool) -> None:
    """列出已加载的插件（名称、发行包、版本、实现的钩子）。"""
    infos = app.plugins()
    counties = {plugin: county for plugin, county in app.counties.values()}
    if as_json:
        click.echo(json.dumps([{**info.__dict__, "hooks": list(info.hooks),
                                "county": counties[info.name].name if info.name in counties else None}
                               for info in infos], ensure_ascii=False, indent=2))
        return
    for info in infos:
        kind = "内置" if info.builtin else "插件"
        county = f"  县：{counties[info.name].name}" if info.name in counties else ""
        click.echo(f"{info.name}  [{kind}] {info.dist} {info.version}{county}\n    钩子：{', '.join(info.hooks)}")


# --- validate -------------------------------------------------------------------


@cli.command("validate")
@click.argument("form_id", metavar="FORM")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path), help="数据文件（.xlsx/.csv/.json/.jsonl）")
@click.option("--sheet", help="Excel 工作表名称（默认第一个有数据的工作表）")
@pass_app
def validate_cmd(app: App, form_id: str, data: Path, sheet: str | None) -> None:
    """校验数据文件：列出每一行的每个错误（行号与 Excel 一致）。"""
    from .batch import load_and_check

    result = load_and_check(app, app.form(form_id), data, sheet=sheet)
    echo_problems(result.warnings)
    if result.errors:
        echo_problems(result.errors)
        bad = len(result.invalid_rows)
        raise click.ClickException(f"{data.name}：共 {result.rows_total} 条记录，{bad} 条有错误，"
                                   f"共 {len(result.errors)} 个问题。")
    click.echo(f"{data.name}：共 {result.rows_total} 条记录，全部通过校验（表单 {form_id}，{app.county.name}）。")


from .cli_cases import check_cmd, notice_cmd  # noqa: E402  (issue 5: case rules and public notices)
cli.add_command(check_cmd)
cli.add_command(notice_cmd)


def main() -> None:
    """Console-script entry point: load plugins once, let them add commands, run."""
    try:
        app = _make_app()
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    app.pm.hook.register_commands(cli=cli)
    cli.main(prog_name="fanpin", obj=app)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
