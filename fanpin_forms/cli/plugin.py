"""``fanpin plugin new``: start a county plugin."""

from __future__ import annotations

from pathlib import Path

import click

from .base import FanpinGroup


@click.group("plugin", cls=FanpinGroup)
def plugin_group() -> None:
    """县级插件开发：生成一个可直接安装、测试的插件包。"""


@plugin_group.command("new")
@click.argument("name", metavar="县名")
@click.option("--code", required=True, metavar="编号", help="插件编号（--county 用的英文编号），如 pingjiang")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path), metavar="文件夹",
              help="新建的插件文件夹（须不存在或为空）")
@click.option("--province", metavar="省", help="省名，如 湖南省（不填则留作待填写）")
@click.option("--city", metavar="市", help="市（州）名，如 岳阳市（不填则留作待填写）")
def plugin_new(name: str, code: str, out: Path, province: str | None, city: str | None) -> None:
    """生成县级插件包：入口点、写明每项政策值的 County、表单扩展、一条规则和测试。

    例：fanpin plugin new 平江县 --code pingjiang -o fanpin-forms-pingjiang
    """
    from ..scaffold import new_plugin

    files = new_plugin(name, code, out, province=province, city=city)
    click.echo(f"已生成{name}插件（{len(files)} 个文件）：{out}")
    click.echo(f"下一步：cd {out} && pip install -e . && python -m pytest tests/")
    click.echo("请先核实 County 中标有“待核实”的每项政策值，并写明通知原文（见 README.md）。")


COMMANDS = (plugin_group,)

__all__ = ["COMMANDS", "plugin_group"]
