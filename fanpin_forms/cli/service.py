"""``fanpin serve`` (the web service), ``fanpin worker`` (its jobs, at scale) and
``fanpin user add|list`` (its local accounts).

The web stack is imported inside the commands, so the other commands never load it.
"""

from __future__ import annotations

import click

from ..app import App
from .base import FanpinCommand, FanpinGroup, pass_app


def _settings(db: str | None, **more: object):
    from ..service.settings import Settings

    return Settings.from_env(db_url=db, **more)


QUEUE_HELP = ("任务队列的 PostgreSQL 地址（通常与 --db 相同，例如 postgresql://用户@主机/库）；"
              "给出后任务由 fanpin worker 执行，网页进程不执行任务")


@click.command("serve", cls=FanpinCommand)
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址（只在本机使用时保持 127.0.0.1）")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="端口")
@click.option("--db", "db", metavar="URL",
              help="数据库地址（默认：数据目录下的 SQLite 文件；例如 postgresql+psycopg://用户@主机/库）")
@click.option("--queue", "queue", metavar="URL", help=QUEUE_HELP)
@pass_app
def serve_cmd(app: App, host: str, port: int, db: str | None, queue: str | None) -> None:
    """启动网页服务：乡镇、村干部用浏览器上传台账、检查错误、打印表格；其他系统用 /api/v1 接口。"""
    import uvicorn

    from ..service.app import create_app

    settings = _settings(db, queue_url=queue)
    runner = None
    if settings.queue_url:
        from ..service.models import open_database
        from ..service.queue import QueueJobRunner

        runner = QueueJobRunner(open_database(settings.db_url), settings)
    web = create_app(settings, app, runner=runner)
    where = "任务交给任务队列（请另外启动 fanpin worker）" if runner else "任务在本进程内执行"
    click.echo(f"防返贫监测表单服务已启动，{where}：请用浏览器打开 http://{host}:{port}/ （按 Ctrl+C 停止）", err=True)
    uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False)


@click.command("worker", cls=FanpinCommand)
@click.option("--db", "db", metavar="URL", help="数据库地址（与 fanpin serve 的 --db 相同）")
@click.option("--queue", "queue", metavar="URL", help="任务队列的 PostgreSQL 地址（与 fanpin serve 的 --queue 相同；默认同 --db）")
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, help="同时执行的任务数（默认 1；每个任务可能启动一个 LibreOffice）")
@pass_app
def worker_cmd(app: App, db: str | None, queue: str | None, concurrency: int | None) -> None:
    """执行网页服务提交的任务（打印、导入、识别扫描件）；可在多台机器上各启动几个，按 Ctrl+C 停止。"""
    from ..service.models import open_database
    from ..service.queue import conninfo, run_worker

    settings = _settings(db, worker_concurrency=concurrency)
    if not settings.queue_url:
        settings = settings.with_changes(queue_url=queue or settings.db_url)
    elif queue:
        settings = settings.with_changes(queue_url=queue)
    conninfo(settings.queue_url)  # refuse a non-PostgreSQL queue before opening anything
    engine = open_database(settings.db_url)
    # what the job threads read, computed once before any of them starts
    app.county, app.field_types, app.forms, app.record_checks  # noqa: B018
    click.echo(f"任务执行进程已启动（同时执行 {settings.worker_concurrency} 个任务），按 Ctrl+C 停止", err=True)
    run_worker(engine, settings, lambda: app)


@click.group("user", cls=FanpinGroup)
def user_group() -> None:
    """网页服务的账号：新增、列出。"""


@user_group.command("add")
@click.argument("name", metavar="用户名")
@click.option("--role", required=True, metavar="角色",
              help="county-admin（县级管理员）、township-reviewer（乡镇审核员）、village-clerk（村级填报员）、read-only（只读）")
@click.option("--township", metavar="乡镇", help="所属乡镇（乡镇审核员、村级填报员必填）")
@click.option("--village", metavar="村", help="所属村（村级填报员必填）")
@click.option("--db", "db", metavar="URL", help="数据库地址（默认同 fanpin serve）")
def user_add(name: str, role: str, township: str | None, village: str | None, db: str | None) -> None:
    """新增账号；密码在提示后输入两次（不显示）。"""
    from ..errors import Code
    from ..service import accounts
    from ..service.models import open_database, session_factory

    parsed = accounts.parse_role(role)
    accounts.area_for(parsed, township, village)  # refuse before asking for the password
    password = click.prompt("密码", hide_input=True)
    again = click.prompt("再输入一次密码", hide_input=True)
    if password != again:
        raise click.ClickException(Code.SVC_PASSWORD_MISMATCH.format())
    settings = _settings(db)
    engine = open_database(settings.db_url)
    with session_factory(engine)() as session:
        user = accounts.add_user(session, name, password, parsed, township, village)
        click.echo(f"已新增账号「{user.name}」：{parsed.label}，辖区 {(user.township or '全县') + (user.village or '')}")


@user_group.command("list")
@click.option("--db", "db", metavar="URL", help="数据库地址（默认同 fanpin serve）")
def user_list(db: str | None) -> None:
    """列出全部账号：用户名、角色、辖区、是否停用。"""
    from ..service import accounts
    from ..service.models import open_database, session_factory
    from ..service.scope import COUNTY, Area

    settings = _settings(db)
    engine = open_database(settings.db_url)
    with session_factory(engine)() as session:
        users = accounts.list_users(session, Area(COUNTY))
    if not users:
        click.echo("还没有账号。用 fanpin user add 用户名 --role county-admin 新增第一个管理员。")
        return
    for u in users:
        role = accounts.ROLE_LABELS.get(accounts.Role(u.role), u.role)
        state = "" if u.active else "\t已停用"
        click.echo(f"{u.name}\t{role}\t{(u.township or '全县') + (u.village or '')}{state}")


#: what the root group attaches
COMMANDS = (serve_cmd, worker_cmd, user_group)
