"""``fanpin check`` and ``fanpin notice``: the case rules and the public notices.

Both read the case ledger (the ``ledger`` form) with the same loader as
``fanpin validate``: header matching, Excel row numbers, masked error messages.
``fanpin_forms.cli`` adds these commands to the root group.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from ..app import App
from .base import DATE, FanpinCommand, echo_problems, pass_app
from .ledger import db_option
from ..errors import Code, DataError, FanpinError
from ..intake.records import LoadResult
from ..cases.rules import RuleFinding, cases_from, fmt_date, group_findings, run_rules, summary


SEVERITY = {"error": "错误", "warning": "提示"}


def _load(app: App, data: Path | None, sheet: str | None) -> LoadResult:
    """The case ledger from ``--data``, else from the ledger database (``--db``)."""
    if data is None:
        from ..ledger.records import load_ledger
        from .ledger import open_ledger

        ledger = open_ledger()
        try:
            return load_ledger(app.ledger_setup(), ledger)
        finally:
            ledger.close()
    return app.load_and_check(app.form("ledger"), data, sheet=sheet)


def _source(data: Path | None) -> str:
    """How the data is named in a report: the file, or the ledger database."""
    if data is not None:
        return data.name
    from .ledger import DB_META
    from ..ledger.db import resolve_url, shown

    return Path(shown(resolve_url(click.get_current_context().meta.get(DB_META)))).name


# --- fanpin check ----------------------------------------------------------------------------


@click.command("check", cls=FanpinCommand)
@click.option("--data", "data", type=click.Path(path_type=Path),
              help="防返贫监测对象台账（.xlsx/.csv/.json/.jsonl），列名见 fanpin fields ledger；不写时读台账数据库")
@click.option("--sheet", help="Excel 工作表名称（默认第一个有数据的工作表）")
@click.option("--as-of", "as_of", type=DATE,
              help="检查日期，如 2022-07-01：尚未完成的环节到这天已超过时限的，算作超期")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（含每条规则的通知原文）")
@db_option
@click.option("-v", "--verbose", is_flag=True, help="每条问题下显示通知原文和户主身份证号（已脱敏）")
@pass_app
def check_cmd(app: App, data: Path | None, sheet: str | None, as_of: dt.date | None,
              as_json: bool, verbose: bool) -> None:
    """按所选县的规则检查监测对象台账中每一户的程序和时限，按乡镇、村列出问题。

    检查识别认定15天时限、村级公示天数、信息比对、各环节顺序、帮扶措施10天和录入1个月、
    风险消除收入标准、先帮扶后识别等（以县级插件注册的规则为准）。有任何错误时退出码为 1。
    """
    form = app.form("ledger")
    result = _load(app, data, sheet)
    findings = run_rules(app.rules, cases_from(result.records, form), app.county, as_of)
    grouped = group_findings(findings)
    ordered = [f for _, villages in grouped for _, fs in villages for f in fs]
    counts = summary(findings)
    failed = bool(result.errors) or counts["errors"] > 0
    if as_json:
        click.echo(json.dumps({
            "county": {"code": app.county.code, "name": app.county.name},
            "data": _source(data), "as_of": as_of.isoformat() if as_of else None,
            "rows": result.rows_total, "cases_checked": len(result.records),
            "data_errors": [str(p) for p in result.errors],
            "data_warnings": [str(p) for p in result.warnings],
            "summary": counts, "ok": not failed,
            "findings": [f.to_json() for f in ordered],
        }, ensure_ascii=False, indent=2))
    else:
        _print_report(app, data, result, grouped, counts, as_of, verbose)
    if failed:
        click.get_current_context().exit(1)


def _print_report(app: App, data: Path | None, result: LoadResult, grouped, counts: dict[str, int],
                  as_of: dt.date | None, verbose: bool) -> None:
    echo_problems(result.warnings)
    if result.errors:
        click.echo(f"以下 {len(result.invalid_rows)} 行数据有误，未做程序检查：", err=True)
        echo_problems(result.errors)
    when = f"检查日期 {fmt_date(as_of)}" if as_of else "未指定 --as-of：只核对已填的日期，不判断未完成的环节是否超期"
    click.echo(f"{app.county.name}防返贫监测程序检查：{_source(data)}，检查 {len(result.records)} 户（{when}）")
    for township, villages in grouped:
        click.echo(f"\n{township or '（未填乡镇）'}")
        for village, findings in villages:
            click.echo(f"  {village or '（未填村）'}")
            for f in findings:
                click.echo("    " + _line(f))
                if verbose:
                    who = f"身份证 {f.id_masked}，" if f.id_masked else ""
                    click.echo(f"      {who}第 {f.row} 行；规则 {f.rule}（{f.plugin}）")
                    if f.source:
                        click.echo(f"      依据：{f.source}")
    checked = len(result.records)
    if not counts["errors"] and not counts["warnings"]:
        click.echo(f"\n全部 {checked} 户均符合{app.county.name}的程序和时限要求。")
    else:
        click.echo(f"\n共 {counts['errors']} 个错误、{counts['warnings']} 个提示；"
                   f"{counts['cases_with_errors']} 户有错误（共检查 {checked} 户）。")
    if result.errors:
        click.echo(f"另有 {len(result.invalid_rows)} 行数据有误，未做程序检查（见上方）。")


def _line(f: RuleFinding) -> str:
    over = f"  超期 {f.days_over} 天" if f.days_over else ""
    return f"[{SEVERITY[f.severity]}] {f.case_id} {f.head_name}  {f.title}：{f.message}{over}"


# --- fanpin notice ---------------------------------------------------------------------------


@click.command("notice", cls=FanpinCommand)
@click.argument("kind", type=click.Choice(["village", "county"]), metavar="village|county")
@click.option("--data", "data", type=click.Path(path_type=Path), help="防返贫监测对象台账（不写时读台账数据库）")
@click.option("--sheet", help="Excel 工作表名称（默认第一个有数据的工作表）")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="输出目录")
@click.option("--from", "date_from", type=DATE,
              help="村级公示：公示开始日期不早于此日的户；县级公告：县级审定日期不早于此日的户（用于重印）")
@click.option("--to", "date_to", type=DATE, help="与 --from 相对的结束日期（含当天）")
@click.option("--date", "date", type=DATE, help="县级公告的落款日期（默认今天）")
@db_option
@pass_app
def notice_cmd(app: App, kind: str, data: Path | None, sheet: str | None, out_dir: Path, date_from: dt.date | None,
               date_to: dt.date | None, date: dt.date | None) -> None:
    """生成村级公示（village，每村每个公示期一份 DOCX）或县级公告（county，DOCX 和网页 HTML）。

    只列户主姓名、乡镇/村/组、家庭人口、监测对象类型和风险类型；身份证号码、手机号、
    银行账号、健康状况等一律不出现（写出前逐字节检查，发现即停止）。

    \b
    village：默认列出已定公示期、尚未县级审定的户（识别和风险消除）；
    county： 默认列出已县级审定、尚未公告的户；
    --from/--to 按日期重印以往的公示或公告。
    """
    from ..cases.notices import (
        ledger_secrets, render_county, render_village, select_county, select_village, write_files,
    )

    form = app.form("ledger")
    result = _load(app, data, sheet)
    echo_problems(result.warnings)
    if result.errors:
        raise DataError(result.errors)
    if kind == "village":
        selection = select_village(result.records, form, date_from=date_from, date_to=date_to,
                                   health_terms=app.county.health_terms, source=_source(data),
                                   style=app.notice_style)
        what, why = "村级公示", "没有已定公示期、尚未县级审定的户"
        for n in selection.notices:
            for rows, minimum, label in ((n.identify, app.county.publicity_days, "识别"),
                                         (n.eliminate, app.county.elimination_publicity_days, "风险消除")):
                if rows and n.days < minimum:
                    selection.warnings.append(f"{n.township}{n.village} {label}公示期 {fmt_date(n.start)}至"
                                              f"{fmt_date(n.end)} 只有 {n.days} 天，少于 {minimum} 天")
    else:
        selection = select_county(result.records, form, app.county, date=date or dt.date.today(),
                                  date_from=date_from, date_to=date_to, source=_source(data),
                                  style=app.notice_style)
        what, why = "县级公告", "没有已县级审定、尚未公告的户"
    if date_from or date_to:
        why = f"{fmt_date(date_from) or '…'} 至 {fmt_date(date_to) or '…'} 之间没有符合条件的户"
    for w in selection.warnings:
        click.echo(f"提示：{w}", err=True)
    if not selection.notices:
        raise FanpinError.of(Code.NOTICE_NOTHING, data=_source(data), what=f"列入{what}", why=why)
    files = render_village(selection) if kind == "village" else render_county(selection)
    paths = write_files(files, out_dir, ledger_secrets(result.records, form), what)
    households = sum(len(n.identify) + len(n.eliminate) for n in selection.notices)
    click.echo(f"已生成{what} {len(paths)} 个文件（共 {households} 户）：")
    for path in paths:
        click.echo(f"  {path}")


COMMANDS = (check_cmd, notice_cmd)
