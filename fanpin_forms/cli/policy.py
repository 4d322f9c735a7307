"""``fanpin policy set|show``: county policy values (the year's income baseline) kept in the ledger."""

from __future__ import annotations

import click

from ..app import App
from .base import FanpinGroup, pass_app
from .ledger import db_option, open_ledger, table


@click.group("policy", cls=FanpinGroup)
def policy_group() -> None:
    """县里的政策值（如每年的防返贫监测收入基准线）：录入台账后优先于县级插件中的值。"""


@policy_group.command("set")
@click.argument("name", metavar="名称")
@click.argument("year", metavar="年份")
@click.argument("value", metavar="值")
@click.option("--source", required=True, metavar="文号", help="公布该值的文件文号，如 岳县委乡振组办发〔2023〕1号")
@db_option
@pass_app
def policy_set(app: App, name: str, year: str, value: str, source: str) -> None:
    """录入一个政策值，如：fanpin policy set baseline 2026 7800 --source "文号"。

    记录谁、何时、依据哪个文件录入；该年份以此值为准（覆盖县级插件中的值）。
    """
    from ..errors import Code
    from ..ledger.audit import actor_name
    from ..ledger.db import LedgerError
    from ..ledger.policy import NAMES, parse_name, parse_value, parse_year, set_value

    name = parse_name(name)
    y = parse_year(year)
    amount = parse_value(name, value)
    source = source.strip()
    if not source:
        raise LedgerError.of(Code.POLICY_BAD_VALUE, label="文号", value=source, why="请写明公布该值的文件文号")
    ledger = open_ledger()
    try:
        old = set_value(ledger, name, y, amount, source[:500], actor_name())
    finally:
        ledger.close()
    was = f"（原为 {old} 元）" if old is not None else ""
    click.echo(f"已录入 {y} 年{NAMES[name]} {amount} 元{was}，依据 {source}；台账 {ledger.name}。")


@policy_group.command("show")
@db_option
@pass_app
def policy_show(app: App) -> None:
    """列出全部政策值及其来源（台账中录入的值优先于县级插件中的值）。"""
    from ..ledger.db import existing_ledger
    from ..ledger.policy import NAMES, entries
    from ..ledger.status import local_time

    ctx = click.get_current_context()
    from .ledger import DB_META

    ledger = existing_ledger(ctx.meta.get(DB_META))
    try:
        rows = entries(app.plugin_county, app.county_plugin, ledger)
    finally:
        if ledger is not None:
            ledger.close()
    click.echo(f"{app.plugin_county.name}的政策值：")
    lines = []
    for e in rows:
        where = (f"台账录入：{e.source}（{e.actor}，{local_time(e.at):%Y-%m-%d}）" if e.origin == "ledger"
                 else e.source)
        lines.append([NAMES.get(e.name, e.name), str(e.year), f"{e.value} 元", "是" if e.in_force else "否（已被台账中的值覆盖）",
                      where])
    for line in table(["名称", "年份", "值", "生效", "来源"], lines):
        click.echo(line)


COMMANDS = (policy_group,)
