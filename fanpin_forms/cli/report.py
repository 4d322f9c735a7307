"""``fanpin report monthly``: the township's monthly check report from the ledger."""

from __future__ import annotations

from pathlib import Path

import click

from ..app import App
from .base import FanpinGroup, pass_app
from .ledger import db_option, open_ledger


@click.group("report", cls=FanpinGroup)
def report_group() -> None:
    """由台账生成报表。"""


@report_group.command("monthly")
@click.option("--month", required=True, metavar="年-月", help="统计哪个月，如 2022-06")
@click.option("--township", help="只统计这个乡镇（默认：全县各乡镇）")
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="输出文件：.xlsx（Excel）或 .docx（Word），如 月报.xlsx")
@db_option
@pass_app
def monthly_cmd(app: App, month: str, township: str | None, out: Path) -> None:
    """防返贫动态监测排查情况月报：按乡镇、村统计本月入户核实、新增风险线索、识别认定、风险消除、
    超期未办结、帮扶措施未按时录入系统、表单未收回的户数；并按重点对象（县里未规定时按监测对象类型
    和风险类型）分组。只含户数，不含姓名、身份证号码和电话。"""
    from ..ledger.report import monthly, parse_month, write

    parse_month(month)
    if out.suffix.lower() not in (".xlsx", ".docx"):
        from ..errors import Code, DataError

        raise DataError.of(Code.REPORT_BAD_SUFFIX, name=out.name)
    ledger = open_ledger()
    try:
        report = monthly(app.ledger_setup(), ledger, month, township=township)
    finally:
        ledger.close()
    write(report, out)
    households = sum(c.households for c in report.sections[0].rows.values())
    click.echo(f"已生成 {report.title}：{households} 户，{len(report.sections[0].rows)} 个村 → {out}")


COMMANDS = (report_group,)
