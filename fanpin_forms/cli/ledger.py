"""``fanpin db upgrade`` and ``fanpin ledger import|export``: the case ledger.

The ledger's location comes from ``--db PATH_OR_URL`` (given to ``fanpin`` itself or to
the command), else ``$FANPIN_FORMS_DATABASE_URL``, else ``ledger.sqlite3`` in the data
folder (``$FANPIN_FORMS_HOME``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..app import App
from ..ledger.db import URL_ENV, Ledger, head_revision
from ..ledger.status import UNRETURNED_DAYS
from .base import DATE, FanpinGroup, echo_problems, pass_app

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
    """防返贫监测对象台账：导入、导出、各环节进度、改动记录。"""


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




def table(headers: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Lines of a plain-text table whose columns line up in a terminal (CJK counts double)."""
    from .i18n import display_width

    widths = [max([display_width(h), *(display_width(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    pad = lambda text, w: text + " " * (w - display_width(text))  # noqa: E731
    return [indent + "  ".join(pad(c, w) for c, w in zip(line, widths)).rstrip() for line in [headers, *rows]]


def _where(c) -> str:
    return f"{c.township}{c.village}"


def _head(c) -> str:
    """The head's name, with 〔争议〕 when the case is marked 存在较大争议."""
    return f"{c.head_name}〔争议〕" if c.disputed else c.head_name


@ledger_group.command("status")
@click.option("--township", help="只看这个乡镇")
@click.option("--village", help="只看这个村")
@click.option("--as-of", "as_of", type=DATE, help="按哪一天判断所处环节和是否超期（默认今天）")
@click.option("--unreturned-days", type=click.IntRange(0, 3650), default=UNRETURNED_DAYS, show_default=True,
              help="打印后超过这么多天仍未收回扫描件的表单列出来")
@click.option("--limit", type=click.IntRange(0, None), default=20, show_default=True,
              help="每个环节最多列出多少户（超期的户全部列出；0：只看各环节户数）")
@db_option
@pass_app
def status_cmd(app: App, township: str | None, village: str | None, as_of: dt.date | None, unreturned_days: int,
               limit: int) -> None:
    """按环节列出监测对象（待入户核实、公示中、待乡镇审核、待县级审定、已认定、帮扶中、风险已消除）：
    超期的户排在最前并写明超期天数；再列出打印后长期未收回的表单。身份证号码已脱敏。"""
    from ..cases.rules import fmt_date
    from ..ledger.status import STAGES, status

    as_of = as_of or dt.date.today()
    ledger = open_ledger()
    try:
        st = status(app.ledger_setup(), ledger, as_of, township=township, village=village,
                    unreturned_days=unreturned_days, keep=limit)
    finally:
        ledger.close()
    scope = "".join(x for x in (township, village) if x) or app.county.name
    click.echo(f"{scope} 监测对象 {st.total} 户，截至 {fmt_date(as_of)}：")
    click.echo("  " + "，".join(f"{s} {st.counts[s]} 户" for s in STAGES))
    if st.overdue:
        click.echo(f"\n超期 {len(st.overdue)} 户（超期天数多的在前）：")
        rows = [[c.label, _head(c), c.id_masked, _where(c), c.stage, c.overdue.what, fmt_date(c.overdue.last_day),
                 f"{c.overdue.days} 天"] for c in st.overdue]
        for line in table(["户编号", "户主", "身份证号码", "乡镇村", "环节", "超期事项", "应完成日期", "超期"], rows):
            click.echo(line)
    else:
        click.echo("\n没有超期的户。")
    for stage in STAGES:
        cases = st.by_stage[stage]
        if not cases:
            continue
        rest = st.counts[stage] - len(cases) - sum(c.stage == stage for c in st.overdue)
        click.echo(f"\n{stage}（未超期 {len(cases) + rest} 户）：")
        for line in table(["户编号", "户主", "身份证号码", "乡镇村"], [[c.label, _head(c), c.id_masked, _where(c)]
                                                                   for c in cases]):
            click.echo(line)
        if rest:
            click.echo(f"  ……另有 {rest} 户（用 --limit 列出更多）")
    if st.disputed:
        click.echo(f"\n存在较大争议 {len(st.disputed)} 户（证据材料见 fanpin ledger evidence list 户编号）：")
        for line in table(["户编号", "户主", "身份证号码", "乡镇村", "环节"],
                          [[c.label, c.head_name, c.id_masked, _where(c), c.stage] for c in st.disputed]):
            click.echo(line)
    if st.unreturned:
        click.echo(f"\n打印后超过 {unreturned_days} 天仍未收回的表单 {len(st.unreturned)} 份：")
        rows = [[u.household_no, u.head_name, f"{u.township}{u.village}", u.form, fmt_date(u.printed), f"{u.days} 天"]
                for u in st.unreturned]
        for line in table(["户编号", "户主", "乡镇村", "表单", "打印日期", "已过"], rows):
            click.echo(line)
    else:
        click.echo(f"\n没有打印后超过 {unreturned_days} 天仍未收回的表单。")


@ledger_group.command("history")
@click.argument("case", metavar="户编号或案件编号")
@db_option
@pass_app
def history_cmd(app: App, case: str) -> None:
    """列出一户的全部改动记录：谁、何时、改了什么、原值 → 新值（敏感信息已脱敏）。"""
    from ..ledger.history import disputed_now, history

    ledger = open_ledger()
    try:
        household, rows = history(app.ledger_setup(), ledger, case)
        disputed = disputed_now(ledger, household.id)
    finally:
        ledger.close()
    name = household.household_no or case
    mark = "，存在较大争议" if disputed else ""
    click.echo(f"户编号 {name}（户主 {household.head_name}{mark}）的改动记录 {len(rows)} 条：")
    from ..ledger.status import local_time

    lines = [[f"{local_time(r.at):%Y-%m-%d %H:%M:%S}",
              r.actor, r.source, r.what, f"{r.old or '（空）'} → {r.new or '（空）'}"] for r in rows]
    for line in table(["时间", "操作人", "来源", "项目", "原值 → 新值"], lines):
        click.echo(line)


@ledger_group.group("evidence", cls=FanpinGroup)
def evidence_group() -> None:
    """存在较大争议的户的证据材料（会议记录、照片、PDF）。"""


@evidence_group.command("add")
@click.argument("case", metavar="户编号或案件编号")
@click.argument("files", metavar="文件…", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--note", required=True, metavar="说明", help="证据材料的说明，如「村民代表会议记录」")
@db_option
@pass_app
def evidence_add_cmd(app: App, case: str, files: tuple[Path, ...], note: str) -> None:
    """把证据材料（PDF、JPEG/PNG/TIFF 图片、.docx、.xlsx）附到一户的当前案件上，并把该户标记为「存在较大争议」。

    每个文件先按内容检查类型和大小，有一个不合格就一个都不存；同一文件只存一份。"""
    from ..ledger.evidence import add_evidence

    ledger = open_ledger()
    try:
        result = add_evidence(app.ledger_setup(), ledger, case, list(files), note)
    finally:
        ledger.close()
    name = result.household_no or f"案件{result.case_id}"
    if result.known:
        click.echo(f"以下 {len(result.known)} 个文件以前已附到这一户，未重复记录：" + "、".join(result.known), err=True)
    click.echo(f"户编号 {name}（户主 {result.head_name}）已添加证据材料 {len(result.added)} 个"
               + ("，已标记为「存在较大争议」。" if result.newly_disputed else "。"))


@evidence_group.command("list")
@click.argument("case", metavar="户编号或案件编号")
@db_option
@pass_app
def evidence_list_cmd(app: App, case: str) -> None:
    """列出一户的证据材料：何时、谁添加、文件名、类型、说明（敏感信息已脱敏）。"""
    from ..ledger.evidence import list_evidence
    from ..ledger.status import local_time

    ledger = open_ledger()
    try:
        household, disputed, rows = list_evidence(app.ledger_setup(), ledger, case)
    finally:
        ledger.close()
    mark = "，存在较大争议" if disputed else ""
    click.echo(f"户编号 {household.household_no or case}（户主 {household.head_name}{mark}）的证据材料 {len(rows)} 个：")
    lines = [[f"{local_time(r.at):%Y-%m-%d %H:%M}", r.actor, r.name, r.kind, r.note] for r in rows]
    for line in table(["时间", "添加人", "文件", "类型", "说明"], lines):
        click.echo(line)


@ledger_group.command("archive")
@click.option("--village", required=True, help="哪个村的档案")
@click.option("--township", help="村所在的乡镇（几个乡镇有同名的村时必填）")
@click.option("-o", "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="输出的档案文件夹；已有的旧档案只在新档案完整写好后才被替换")
@db_option
@pass_app
def archive_cmd(app: App, village: str, township: str | None, out: Path) -> None:
    """按县里归档的方式输出一个村的档案：每户一个文件夹（户编号-户主姓名），内有打印的表单、收回的扫描页、
    复核决定（.xlsx）、证据材料；另有 汇总表.xlsx（环节、日期、表单打印和收回份数、证据材料、是否存在较大争议）。"""
    from ..ledger.archive import write_archive

    ledger = open_ledger()
    try:
        result = write_archive(app.ledger_setup(), ledger, out, village=village, township=township)
    finally:
        ledger.close()
    if result.missing:
        click.echo(f"以下 {len(result.missing)} 份打印的表单文件已不在原处，档案中没有它们（汇总表中仍计入打印份数）：", err=True)
        for m in result.missing[:20]:
            click.echo(f"  {m}", err=True)
    click.echo(f"已输出{township or ''}{village}的档案到 {out}：{result.cases} 户，表单 {result.forms} 份，"
               f"扫描件 {result.scans} 个，证据材料 {result.evidence} 个。")


COMMANDS = (db_group, ledger_group)
__all__ = ["COMMANDS", "DB_META", "db_option", "head_revision", "open_ledger", "remember_db"]
