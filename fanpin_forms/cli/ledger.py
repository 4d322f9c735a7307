"""``fanpin db upgrade`` and ``fanpin ledger import|export``: the case ledger.

The ledger's location comes from ``--db PATH_OR_URL`` (given to ``fanpin`` itself or to
the command), else ``$FANPIN_FORMS_DATABASE_URL``, else ``ledger.sqlite3`` in the data
folder (``$FANPIN_FORMS_HOME``).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..app import App
from ..ledger.db import URL_ENV, Ledger, head_revision
from .base import FanpinGroup, echo_problems, pass_app

DB_META = "fanpin_forms.db"
DB_HELP = f"台账数据库：文件路径，或 postgresql+psycopg://… 地址（也可设环境变量 {URL_ENV}；默认在 FANPIN_FORMS_HOME 下）"


def remember_db(ctx: click.Context, _param, value: str | None) -> str | None:
    """``--db`` given before or after the command name: the one nearest the command wins."""
    if value:
        ctx.meta[DB_META] = value
    return value


def db_option(fn):
    return click.option("--db", "db", metavar="路径或地址", expose_value=False, callback=remember_db,
                        is_eager=True, help=DB_HELP)(fn)


def open_ledger(ctx: click.Context | None = None) -> Ledger:
    ctx = ctx or click.get_current_context()
    return Ledger.open(ctx.meta.get(DB_META))


@click.group("db", cls=FanpinGroup)
def db_group() -> None:
    """台账数据库的维护。"""


@db_group.command("upgrade")
@db_option
def db_upgrade() -> None:
    """把台账数据库升级到本程序的版本（首次使用时会自动创建和升级）。"""
    ctx = click.get_current_context()
    ledger = Ledger.open(ctx.meta.get(DB_META), upgrade=False)
    try:
        before, after = ledger.upgrade()
    finally:
        ledger.close()
    if before == after:
        click.echo(f"台账数据库 {ledger.name} 已是最新版本（{after}）。")
    else:
        click.echo(f"台账数据库 {ledger.name} 已从版本 {before or '（新建）'} 升级到 {after}。")


@click.group("ledger", cls=FanpinGroup)
def ledger_group() -> None:
    """防返贫监测对象台账：导入、导出。"""


@ledger_group.command("import")
@click.argument("file", metavar="文件", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sheet", help="Excel 工作表名称（默认第一个工作表）")
@click.option("--skip-invalid", is_flag=True, help="跳过有误的行，导入其余各行（默认：有任何一行有误就不导入）")
@click.option("--overwrite", is_flag=True, help="表中的值与人工录入或核对过的值不同时，用表中的值覆盖")
@db_option
@pass_app
def import_cmd(app: App, file: Path, sheet: str | None, skip_invalid: bool, overwrite: bool) -> None:
    """导入户表（households.xlsx 的列）或案件台账（ledger.xlsx 的列）：.xlsx、.xls、.ods、.csv。

    先校验全部行（与 fanpin validate 相同的提示）；按户编号（没有时按身份证号码）新增或更新。
    同一文件导入两次不会有任何改动。
    """
    from ..ledger.importer import import_file

    ledger = open_ledger()
    try:
        result = import_file(app.ledger_setup(), ledger, file, sheet=sheet, skip_invalid=skip_invalid, overwrite=overwrite)
    finally:
        ledger.close()
    echo_problems(result.warnings)
    if result.skipped:
        click.echo(f"以下 {result.skipped_rows} 行有误，已跳过：", err=True)
        echo_problems(result.skipped)
    if result.conflicts:
        click.echo(f"以下 {len(result.conflicts)} 处是人工录入或核对过的值，与表中不同，未覆盖"
                   f"（确认以表为准时加 --overwrite）：", err=True)
        for c in result.conflicts:
            click.echo(f"  {c}", err=True)
    click.echo(f"{file.name} 已导入台账 {ledger.name}：{result.summary()}。")


@ledger_group.command("export")
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="输出的 Excel 文件，如 台账.xlsx")
@click.option("--township", help="只导出这个乡镇")
@click.option("--village", help="只导出这个村")
@click.option("--format", "fmt", type=click.Choice(["ledger", "national"]), default="ledger", show_default=True,
              help="ledger：可再导入的台账；national：全国防返贫监测信息系统的列")
@db_option
@pass_app
def export_cmd(app: App, out: Path, township: str | None, village: str | None, fmt: str) -> None:
    """把台账导出为 Excel 文件（可在 Excel/WPS 中打开，修改后再用 fanpin ledger import 导入）。"""
    from ..ledger.export import export

    ledger = open_ledger()
    try:
        count = export(app.ledger_setup(), ledger, out, township=township, village=village, national=fmt == "national")
    finally:
        ledger.close()
    click.echo(f"已导出 {count} 户到 {out}")


COMMANDS = (db_group, ledger_group)
__all__ = ["COMMANDS", "DB_META", "db_option", "head_revision", "open_ledger", "remember_db"]
