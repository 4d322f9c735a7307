"""Commands about specs, forms, plugins and data files: spec check, forms, fields,
plugins, validate."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..app import App
from .base import FanpinCommand, FanpinGroup, echo_problems, pass_app


# --- spec ---------------------------------------------------------------------


@click.group(cls=FanpinGroup)
def spec() -> None:
    """表单定义（YAML）相关命令。"""


@spec.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path),
                metavar="文件或文件夹...")
@pass_app
def spec_check(app: App, paths: tuple[Path, ...]) -> None:
    """校验表单定义文件，列出每个问题（文件:行:列: 说明）。"""
    from ..forms.catalog import check_spec_files

    ok = check_spec_files(_expand(paths, "*.yaml", "*.yml"), app.field_types, lambda: app.forms)
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


@click.command("forms", cls=FanpinCommand)
@pass_app
def forms_cmd(app: App) -> None:
    """列出可用的表单。"""
    for form in app.forms.values():
        click.echo(f"{form.id}\t{form.annex}\t{form.title}\t版本 {form.version}\t（{form.plugin}）")


@click.command("fields", cls=FanpinCommand)
@click.argument("form_id", metavar="表单")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@pass_app
def fields_cmd(app: App, form_id: str, as_json: bool) -> None:
    """打印表单的数据字典：字段键、名称、类型、是否必填、是否敏感、可用列名。"""
    from ..intake.datadict import data_dictionary

    rows = data_dictionary(app.form(form_id), app.county)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo("字段键\t名称\t类型\t必填\t敏感\t可用列名")
    for r in rows:
        click.echo("\t".join([r["key"], r["label"], r["type"], "是" if r["required"] else "",
                              r["sensitive"] or "", "、".join(r["headers"])]))


@click.command("plugins", cls=FanpinCommand)
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


@click.command("validate", cls=FanpinCommand)
@click.argument("form_id", metavar="表单")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path), help="农户信息表（.xlsx/.csv/.json/.jsonl；表单 ledger 为监测对象台账）")
@click.option("--sheet", help="Excel 工作表名称（默认第一个有数据的工作表）")
@pass_app
def validate_cmd(app: App, form_id: str, data: Path, sheet: str | None) -> None:
    """校验农户信息表（或监测对象台账）：列出每一行的每个错误（行号与 Excel 一致）。"""

    result = app.load_and_check(app.form(form_id), data, sheet=sheet)
    echo_problems(result.warnings)
    if result.errors:
        echo_problems(result.errors)
        bad = len(result.invalid_rows)
        raise click.ClickException(f"{data.name}：共 {result.rows_total} 条记录，{bad} 条有错误，"
                                   f"共 {len(result.errors)} 个问题。")
    click.echo(f"{data.name}：共 {result.rows_total} 条记录，全部通过校验（表单 {form_id}，{app.county.name}）。")


COMMANDS = (spec, forms_cmd, fields_cmd, plugins_cmd, validate_cmd)
