"""Commands that read returned paper: ``fanpin parse`` and ``fanpin review apply``.

``fanpin_forms.cli`` adds them to the root group from :data:`COMMANDS`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..app import App
from .base import FanpinCommand, FanpinGroup, echo_problems, pass_app, progress
from .ledger import db_option

LEDGER_HELP = "把结果写入台账（台账位置见 --db；默认不写）"


@click.command("parse", cls=FanpinCommand)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="文件或文件夹...")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              metavar="结果.jsonl", help="识别结果：每份表一行 JSON")
@click.option("--review", "review_dir", type=click.Path(path_type=Path, file_okay=False), metavar="文件夹",
              help="把需要人工复核的内容（图片和 review.html）写到这个目录")
@click.option("--data", "data", type=click.Path(path_type=Path, dir_okay=False), metavar="农户信息表",
              help="打印时用的农户信息表：核对表上印的内容与它是否一致")
@click.option("--sheet", help="农户信息表的 Excel 工作表名称（默认第一个有数据的工作表）")
@click.option("-j", "--workers", type=click.IntRange(min=1), default=None, help="并行进程数（默认：CPU 核数）")
@click.option("--ledger", "use_ledger", is_flag=True, help=LEDGER_HELP)
@db_option
@pass_app
def parse_cmd(app: App, inputs: tuple[Path, ...], out: Path, review_dir: Path | None, data: Path | None,
              sheet: str | None, workers: int | None, use_ledger: bool) -> None:
    """读取回收的签字表（PDF 或图片，可以是文件夹）：识别是哪一户哪一页、勾选、签字盖章和日期。

    加 --ledger 时，每个扫描文件在台账中存一次（同一文件再读会被认出），每页对应到打印的表和户，
    读到的日期、签字盖章和勾选写到户上；需要复核的值先存为待复核，不当作事实。

    有文件或页面读取失败时退出码为 1；只是有内容需要人工复核时退出码为 0。"""
    from ..util.atomic import check_writable
    from ..errors import Code, ReadBackError
    from ..readback.run import parse_inputs
    from ..readback.records_io import write_records

    if out.suffix.lower() not in (".jsonl", ".json", ".ndjson"):
        raise ReadBackError.of(Code.RENDER_BAD_OUTPUT, path=str(out), expected=".jsonl")
    if data is not None and not data.is_file():
        raise ReadBackError.of(Code.DATA_FILE_MISSING, path=str(data))
    # Every place written to is tried now: reading takes minutes, and a failure to
    # write afterwards would lose what was read.
    check_writable(out.parent, error=ReadBackError)
    if review_dir is not None:
        check_writable(review_dir, error=ReadBackError)
    ledger = None
    if use_ledger:
        from .ledger import open_ledger

        ledger = open_ledger()  # a broken database fails before minutes of reading
    with progress("正在读取") as (on_start, update):
        result = parse_inputs(app.read_setup(), list(inputs), data=data, review_dir=review_dir, workers=workers,
                              progress=update, sheet=sheet, on_start=on_start)
    write_records(out, result.records)
    echo_problems(result.failures)
    s = result.summary
    click.echo(f"读取了 {s['files']} 个文件、{s['pages']} 页：识别 {s['recognised']} 页"
               + (f"（其中 {s['flagged']} 页身份或对齐需核对）" if s["flagged"] else "")
               + f"，不是本系统的表 {s['foreign']} 页，重复 {s['duplicates']} 页，失败 {s['failed']} 页。")
    for d in s.get("duplicate_pages", ()):
        click.echo(f"  重复页：未采用 {d['file']} 第{d['page']}页，采用 {d['kept_file']} 第{d['kept_page']}页（{d['why']}）")
    click.echo(f"共 {s['forms']} 份表，写入 {out}；{s['review']} 项需要人工复核"
               + (f"，请打开 {result.review_html}" if result.review_html and s["review"] else "")
               + "。")
    if ledger is not None:
        _attach(app, ledger, result, inputs)
    if s["failed"]:
        click.echo(f"有 {s['failed']} 页没能读取（原因见上），退出码为 1。", err=True)
        sys.exit(1)


@click.group("review", cls=FanpinGroup)
def review() -> None:
    """人工复核：把在 review.html 中填写的更正表应用到识别结果。"""


@review.command("apply")
@click.argument("corrections", type=click.Path(path_type=Path, dir_okay=False, exists=True),
                metavar="更正表.csv|xlsx")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              metavar="结果.jsonl", help="更正后的识别结果")
@click.option("--records", "records_in", type=click.Path(path_type=Path, dir_okay=False), metavar="原结果.jsonl",
              help="要更正的识别结果（默认：-o 指定的文件本身）")
@click.option("--ledger", "use_ledger", is_flag=True, help="把复核结果写入台账：待复核的值改为人工复核确认的值")
@db_option
@pass_app
def review_apply(app: App, corrections: Path, out: Path, records_in: Path | None, use_ledger: bool) -> None:
    """应用更正表（列：条目编号、更正值），写出更正后的识别结果。有任何一行无效时不写出任何内容。

    加 --ledger 时，更正或确认过的值写入台账（来源：人工复核），并留下修改记录。"""
    from ..readback.records_io import read_records, write_records
    from ..readback.review import apply_corrections, read_corrections

    source = records_in or out
    records = read_records(source)
    rows = read_corrections(corrections)
    ledger = None
    if use_ledger:
        from .ledger import open_ledger

        ledger = open_ledger()
    records, n = apply_corrections(app.read_setup(), records, rows, label=corrections.name)
    write_records(out, records)
    left = sum(len(r.get("needs_review", [])) for r in records)
    click.echo(f"已应用 {n} 条更正，写入 {out}；还有 {left} 项待复核。")
    if ledger is not None:
        from ..ledger.review import apply_review
        from ..readback.records_io import record_from_dict

        try:
            done = apply_review(app.ledger_setup(), ledger, [record_from_dict(r) for r in records])
        finally:
            ledger.close()
        click.echo(done.summary() + f"：{ledger.name}")
        for what in done.unmatched:
            click.echo(f"  台账中找不到对应的户，未写入：{what}", err=True)


def _attach(app: App, ledger, result, inputs) -> None:
    """The parse result into the ledger (one transaction), and what the clerk should know about it."""
    from ..ledger.attach import attach_scans
    from ..readback.inputs import collect_files

    files, _failed = collect_files([Path(p) for p in inputs])
    try:
        done = attach_scans(app.ledger_setup(), ledger, result.read, result.pages, files)
    finally:
        ledger.close()
    for name in done.files_known:
        click.echo(f"  {name} 以前已存入台账（同一文件），本次未重复记录", err=True)
    click.echo(done.summary() + f"：{ledger.name}")
    if done.changes:
        click.echo(f"台账中以下 {len(done.changes)} 项按新的扫描件更新（原值来自以前的扫描件）：")
        for c in done.changes:
            click.echo(f"  {c}")
    if done.conflicts:
        click.echo(f"以下 {len(done.conflicts)} 处扫描件上读到的与台账中已有的值（导入、人工录入或核对）不同，"
                   "台账未改，读到的值存为待复核：", err=True)
        for c in done.conflicts:
            click.echo(f"  {c}", err=True)
    for what in done.blank_matches:
        click.echo(f"  手填空白表：{what}")
    for what in done.candidates:
        click.echo(f"  新监测对象候选：{what}")
    for what in done.unmatched:
        click.echo(f"  台账中找不到对应的户，未写入：{what}", err=True)


#: the commands ``fanpin_forms.cli`` adds to the root group
COMMANDS = (parse_cmd, review)

__all__ = ["COMMANDS", "parse_cmd", "review"]
