"""Commands that print forms: ``fanpin templates build|check``, ``fanpin fill``, ``fanpin blank``.

``fanpin_forms.cli`` adds them to the root group from :data:`COMMANDS`.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from pathlib import Path

import click

from ..app import App
from .base import FanpinCommand, FanpinGroup, echo_problems, pass_app, progress
from .ledger import db_option

LEDGER_HELP = "把打印的表记入台账（台账位置见 --db；默认不记录）"
from ..errors import Code, Problem, RenderError


def printable_forms(app: App) -> list:
    """Forms that are printed (not data layouts such as the case ledger)."""
    return [f for f in app.forms.values() if getattr(f, "kind", "form") == "form"]


def printable_form(app: App, form_id: str):
    form = app.form(form_id)
    kind = getattr(form, "kind", "form")
    if kind != "form":
        raise RenderError.of(Code.RENDER_NOT_PRINTABLE, form=form_id, kind=kind,
                             known="、".join(f.id for f in printable_forms(app)))
    return form


def _compiled(app: App, form, template: Path | None, year: int):
    """The bundled template, or a county's own (``--template``, else the county plugin's)
    after ``templates check`` passes on it."""
    from ..render.check import check_template
    from ..render.fill import compile_for

    template = template if template is not None else app.templates.get(form.id)
    compiled = compile_for(form, template)
    if template is not None:
        checked = check_template(form, compiled, app.county, year=year, types=app.field_types, label=template.name)
        echo_problems(checked.warnings)
        if not checked.ok:
            raise RenderError(checked.errors)
    return compiled


def _year(app: App, year: int | None) -> int:
    """The year whose baseline is printed; fails (POLICY_NO_BASELINE) if the county has none."""
    year = dt.date.today().year if year is None else year
    app.county.baseline(year)
    return year


# --- templates ------------------------------------------------------------------------


@click.group("templates", cls=FanpinGroup)
def templates() -> None:
    """表单模板（Word .docx）：由表单定义生成、检查县里修改过的模板。"""


@templates.command("build")
@click.argument("form_ids", nargs=-1, metavar="[表单]...")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              help="输出目录（默认：当前目录）")
@click.option("--force", is_flag=True, help="覆盖输出目录中已有的同名模板")
@pass_app
def templates_build(app: App, form_ids: tuple[str, ...], out_dir: Path, force: bool) -> None:
    """由表单定义生成模板 <表单编号>.docx（不写表单编号则生成全部表单），写到当前目录或 -o 指定的目录。

    已有的同名文件（可能是改过的模板）不会被覆盖，除非加 --force。"""
    from ..util.atomic import ensure_dir, write_atomic
    from ..render.template import build_template

    forms = [printable_form(app, f) for f in form_ids] if form_ids else printable_forms(app)
    out = out_dir
    existing = [out / f"{form.id}.docx" for form in forms if (out / f"{form.id}.docx").exists()]
    if existing and not force:
        raise RenderError([Problem(Code.RENDER_TEMPLATE_EXISTS, {"path": str(p)}) for p in existing])
    ensure_dir(out)
    for form in forms:
        path = out / f"{form.id}.docx"
        write_atomic(path, build_template(form))
        click.echo(f"{path}\t{form.annex}\t{form.title}")
    click.echo(f"已生成 {len(forms)} 个模板于 {out}")


@templates.command("check")
@click.argument("form_id", required=False, metavar="[表单]")
@click.option("--template", "template", type=click.Path(path_type=Path, dir_okay=False),
              help="要检查的模板文件（默认：程序自带的 templates/<表单编号>.docx）")
@click.option("--year", type=int, help="收入基准线年份（默认：县里最新的一年）")
@pass_app
def templates_check(app: App, form_id: str | None, template: Path | None, year: int | None) -> None:
    """检查模板：列出不认识的填写标记（附拼写建议）和模板中缺少的必填项；有问题时退出码为 1。"""
    from ..render.check import check_template
    from ..util.limits import RENDER_SECONDS_PER_FORM
    from ..render.template import build_template, document_xml
    from ..util.resources import bundled

    if form_id is None and template is not None:
        form_id = _guess_form(app, template)
    forms = [printable_form(app, form_id)] if form_id else printable_forms(app)
    errors: list[Problem] = []
    for form in forms:
        path = template or bundled("templates") / f"{form.id}.docx"
        if not path.is_file():
            errors.append(Problem(Code.RENDER_TEMPLATE_MISSING, {"path": str(path)}))
            continue
        result = check_template(form, path, app.county, year=year, types=app.field_types, label=str(path))
        warnings = list(result.warnings)
        if template is None and result.ok:
            with contextlib.suppress(Exception):
                if document_xml(path.read_bytes()) != document_xml(build_template(form)):
                    warnings.append(Problem(Code.RENDER_TEMPLATE_FAILED, {
                        "path": str(path), "why": "与当前表单定义不一致，请运行 fanpin templates build -o templates --force 重新生成"},
                        severity="warning"))
        echo_problems(warnings)
        errors.extend(result.errors)
        if result.ok:
            click.echo(f"{path}：通过检查（表单 {form.id}，用到 {len(result.variables)} 个填写标记）")
        if result.trial_seconds is not None:
            click.echo(Code.RENDER_TEMPLATE_TRIAL.format(path=path, seconds=f"{result.trial_seconds:.2f}",
                                                         limit=f"{RENDER_SECONDS_PER_FORM:g}"))
    if errors:
        raise RenderError(errors)


def _guess_form(app: App, template: Path) -> str:
    """The form of a template: its file name (annex2.docx) or the keywords the builder wrote."""
    printable = {f.id for f in printable_forms(app)}
    if template.stem in printable:
        return template.stem
    with contextlib.suppress(Exception):
        import docx

        words = docx.Document(str(template)).core_properties.keywords.split()
        if len(words) >= 2 and words[0] == "fanpin-forms" and words[1] in printable:
            return words[1]
    raise click.UsageError("请写出表单编号，例如：fanpin templates check annex2 --template 模板.docx")


# --- fill ---------------------------------------------------------------------------------


def write_errors_csv(path: Path, problems: list[Problem]) -> Path:
    """行号, 字段, 问题 — UTF-8 with BOM so Excel opens it. Messages are masked (``Problem.message``);
    a cell that would start like a formula gets a leading ``'`` so Excel shows it as text."""
    from ..util.atomic import write_atomic
    from ..forms.fieldtypes import FORMULA_TRIGGERS
    from ..privacy.masking import scrub_shapes

    def cell(text: str) -> str:
        text = scrub_shapes(text)
        return "'" + text if text.startswith((*FORMULA_TRIGGERS, "\t", "\r")) else text

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["行号", "字段", "问题"])
    for p in problems:
        writer.writerow(["" if p.location.row is None else p.location.row, cell(p.location.label or ""),
                         cell(p.message)])
    write_atomic(path, buf.getvalue().encode("utf-8-sig"))
    return path


@click.command("fill", cls=FanpinCommand)
@click.argument("form_id", metavar="表单")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="农户信息表（.xlsx/.csv/.json/.jsonl）")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="输出目录")
@click.option("--skip-invalid", is_flag=True, help="跳过有错误的记录，只生成正确的，错误写入 输出目录/errors.csv")
@click.option("--name", "name_pattern", default=None, metavar="格式",
              help="文件名格式，默认 {township}_{village}_{head_name}_{case_id}（不能用身份证号、电话等敏感信息）")
@click.option("--pdf", "want_pdf", is_flag=True, help="同时在每个 DOCX 旁生成 PDF（需要 LibreOffice）")
@click.option("--merge", "merge_pdf", type=click.Path(path_type=Path, dir_okay=False), metavar="文件.pdf",
              help="把全部表按顺序合成一个 PDF，便于打印")
@click.option("--year", type=int, help="说明①中的收入基准线年份（默认：今年）")
@click.option("--template", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="县里修改过的模板（默认：由表单定义生成）")
@click.option("--sheet", help="Excel 工作表名称（默认第一个有数据的工作表）")
@click.option("-j", "--workers", type=click.IntRange(min=1), default=None, help="并行进程数（默认：CPU 核数）")
@click.option("--ledger", "use_ledger", is_flag=True, help=LEDGER_HELP)
@db_option
@pass_app
def fill_cmd(app: App, form_id: str, data: Path, out_dir: Path, skip_invalid: bool, name_pattern: str | None,
             want_pdf: bool, merge_pdf: Path | None, year: int | None, template: Path | None, sheet: str | None,
             workers: int | None, use_ledger: bool) -> None:
    """按农户信息表批量填表：每户一个 DOCX（可加 PDF）。先校验全部记录，有错误时不生成任何文件。

    加 --ledger 时，把打印的每份表（二维码、户、表单版本、模板、基准线年份、打印人和时间、文件）记入台账。"""
    from ..util.atomic import ensure_dir
    from ..render.context import record_context, record_ident
    from ..render.fill import DEFAULT_PATTERN, fill_batch
    from ..render.filenames import parse_pattern
    from ..render.pdfout import merged_pdf, pdfs_beside

    form = printable_form(app, form_id)
    year = _year(app, year)
    pattern = name_pattern or DEFAULT_PATTERN
    parse_pattern(form, pattern)
    if merge_pdf is not None and merge_pdf.suffix.lower() != ".pdf":
        raise RenderError.of(Code.RENDER_BAD_OUTPUT, path=str(merge_pdf), expected=".pdf")
    compiled = _compiled(app, form, template, year)
    ledger = _ledger_or_none(use_ledger)

    result = app.load_and_check(form, data, sheet=sheet)
    echo_problems(result.warnings)
    file_level = [p for p in result.errors if p.location.row is None]
    if result.errors and (not skip_invalid or file_level):
        echo_problems(result.errors)
        bad = len(result.invalid_rows)
        raise click.ClickException(f"{data.name}：共 {result.rows_total} 条记录，{bad} 条有错误，"
                                   f"共 {len(result.errors)} 个问题；未生成任何文件"
                                   + ("（可加 --skip-invalid 只生成正确的记录）" if not file_level else "。"))
    records = result.records
    if result.errors:
        ensure_dir(out_dir)
        csv_path = write_errors_csv(out_dir / "errors.csv", result.errors)
        click.echo(f"警告：{len(result.invalid_rows)} 条记录有错误，已跳过；错误清单见 {csv_path}", err=True)
    if not records:
        raise RenderError.of(Code.RENDER_NO_RECORDS, file=data.name)

    with progress(f"正在填写 {form.id}") as (start, update):
        start(len(records))
        paths = fill_batch(form, records, app.county, out_dir, name_pattern=pattern, year=year, workers=workers,
                           progress=update, template=compiled, types=app.field_types,
                           notice=lambda p: echo_problems([p]))
    click.echo(f"已生成 {len(paths)} 份「{form.title}」（DOCX）于 {out_dir}")
    if want_pdf or merge_pdf is not None:
        click.echo("正在用 LibreOffice 生成 PDF……", err=True)
    if want_pdf:
        pdfs = pdfs_beside(paths, workers=workers, labels=[p.name for p in paths])
        click.echo(f"已生成 {len(pdfs)} 份 PDF 于 {out_dir}")
    if merge_pdf is not None:
        contexts = [record_context(form, r, app.county, year, record_ident(r, i + 1), types=app.field_types)
                    for i, r in enumerate(records)]
        merged_pdf(compiled, contexts, merge_pdf, workers=workers, label=form.id)
        click.echo(f"已合并 {len(contexts)} 页到 {merge_pdf}")
    if ledger is not None:
        from ..ledger.documents import Printed, template_hash
        from ..render.context import record_ident as ident_of

        digest = template_hash(compiled.data)
        id_key = next((f.key for f in form.fields if f.type == "id_number"), None)
        docs = [Printed(form.id, ident_of(r, i + 1), form.version, digest, year, str(p.resolve()),
                        household_no=r.case_id, id_number=str(r.values.get(id_key) or "") or None if id_key else None)
                for i, (r, p) in enumerate(zip(records, paths))]
        _record(ledger, docs, "fill", f"{form.id} {data.name}")


# --- blank ---------------------------------------------------------------------------------


def blank_serial(form_id: str, day: dt.date, n: int) -> str:
    return f"S:{form_id}-{day:%Y%m%d}-{n}"


@click.command("blank", cls=FanpinCommand)
@click.argument("form_id", metavar="表单")
@click.option("--copies", type=click.IntRange(min=1, max=5000), default=1, show_default=True, help="份数")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              metavar="输出.docx|输出.pdf", help="输出文件：.docx 或 .pdf（全部份数在一个文件中，每份一页）")
@click.option("--start", type=click.IntRange(min=1), default=1, show_default=True,
              help="流水号起始值（同一天再次打印时避免重号）")
@click.option("--year", type=int, help="说明①中的收入基准线年份（默认：今年）")
@click.option("--template", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="县里修改过的模板（默认：由表单定义生成）")
@click.option("--ledger", "use_ledger", is_flag=True, help=LEDGER_HELP)
@click.option("--township", default="", help="（与 --ledger 一起用）空白表发放到的乡镇")
@click.option("--village", default="", help="（与 --ledger 一起用）空白表发放到的村")
@db_option
@pass_app
def blank_cmd(app: App, form_id: str, copies: int, out: Path, start: int, year: int | None,
              template: Path | None, use_ledger: bool, township: str, village: str) -> None:
    """打印空白表：每份有自己的流水号（二维码 S:<表单>-<日期>-<序号>），供手工填写。

    加 --ledger 时，把每个流水号记入台账，并记下发放到哪个乡镇、村（--township、--village）。"""
    from ..render.context import record_context
    from ..util.atomic import ensure_dir, write_atomic
    from ..render.merge import render_merged
    from ..render.pdfout import merged_pdf

    form = printable_form(app, form_id)
    year = _year(app, year)
    suffix = out.suffix.lower()
    if suffix not in (".docx", ".pdf"):
        raise RenderError.of(Code.RENDER_BAD_OUTPUT, path=str(out), expected=".docx 或 .pdf")
    if (township or village) and not use_ledger:
        raise click.UsageError("--township、--village 记录空白表发放到哪里，须与 --ledger 一起使用")
    compiled = _compiled(app, form, template, year)
    ledger = _ledger_or_none(use_ledger)
    today = dt.date.today()
    serials = [blank_serial(form.id, today, n) for n in range(start, start + copies)]
    contexts = [record_context(form, None, app.county, year, serial, types=app.field_types) for serial in serials]
    ensure_dir(out.parent)
    if suffix == ".docx":
        write_atomic(out, render_merged(compiled, contexts))
    else:
        click.echo("正在用 LibreOffice 生成 PDF……", err=True)
        merged_pdf(compiled, contexts, out, label=form.id)
    last = start + copies - 1
    click.echo(f"已生成 {copies} 份空白「{form.title}」（流水号 {start}–{last}）于 {out}")
    if ledger is not None:
        from ..ledger.documents import Printed, template_hash

        digest = template_hash(compiled.data)
        issued = "/".join(x for x in (township.strip(), village.strip()) if x)  # 乡镇/村
        docs = [Printed(form.id, serial, form.version, digest, year, str(out.resolve()), issued_to=issued)
                for serial in serials]
        _record(ledger, docs, "blank", f"{form.id} ×{copies}" + (f" → {issued}" if issued else ""))


# --- the ledger ------------------------------------------------------------------------------


def _ledger_or_none(use: bool):
    """The ledger opened before anything is printed (a broken database fails first), or None."""
    if not use:
        return None
    from .ledger import open_ledger

    return open_ledger()


def _record(ledger, docs, kind: str, detail: str) -> None:
    """Record the batch in one transaction, after every file is written."""
    from ..ledger.documents import record_printed

    try:
        done = record_printed(ledger, docs, kind=kind, detail=detail)
    finally:
        ledger.close()
    click.echo(done.summary() + f"：{ledger.name}")


#: the commands ``fanpin_forms.cli`` adds to the root group
COMMANDS = (templates, fill_cmd, blank_cmd)

__all__ = ["COMMANDS", "blank_cmd", "fill_cmd", "templates", "write_errors_csv"]
