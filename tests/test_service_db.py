"""The service keeps its accounts and jobs in the ledger's database (one database per county):
`fanpin db upgrade` creates them, and `fanpin user add`, `fanpin ledger import` and the web
application all see one file (or one PostgreSQL database)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from fanpin_forms.cli import cli as main
from fanpin_forms.ledger.db import head_revision, resolve_url
from fanpin_forms.service.app import create_app
from .conftest import household, write_xlsx
from .service_kit import PASSWORD, login, make_settings

SERVICE_TABLES = {"svc_user", "svc_session", "svc_login_attempt", "svc_api_token", "svc_upload", "svc_job"}


def tables(url: str) -> set[str]:
    engine = sa.create_engine(resolve_url(url))
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade_creates_the_service_tables_in_the_ledger(runner, ledger_url):
    result = runner.invoke(main, ["db", "upgrade", "--db", ledger_url])
    assert result.exit_code == 0, result.output
    names = tables(ledger_url)
    assert SERVICE_TABLES <= names
    assert {"households", "cases", "audit"} <= names
    with sa.create_engine(resolve_url(ledger_url)).connect() as conn:
        assert conn.scalar(sa.text("select version_num from alembic_version")) == head_revision()


def test_accounts_and_cases_share_one_database(runner, ledger_url, tmp_path, app):
    sheet = write_xlsx(tmp_path / "农户信息表.xlsx", [household()])
    imported = runner.invoke(main, ["ledger", "import", str(sheet), "--db", ledger_url])
    assert imported.exit_code == 0, imported.output
    added = runner.invoke(main, ["user", "add", "admin", "--role", "county-admin", "--db", ledger_url],
                          input=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    with sa.create_engine(resolve_url(ledger_url)).connect() as conn:
        assert conn.scalar(sa.text("select count(*) from svc_user")) == 1
        assert conn.scalar(sa.text("select count(*) from households")) == 1

    web = create_app(make_settings(tmp_path / "home", db_url=ledger_url), app)
    try:
        client = TestClient(web)
        assert login(client, "admin").status_code == 303
        assert "退出" in client.get("/").text
    finally:
        web.state.runner.shutdown()


def test_service_refuses_a_foreign_database_with_a_chinese_message(runner, tmp_path):
    path = tmp_path / "other.sqlite3"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("create table customers (id integer)"))
    engine.dispose()
    result = runner.invoke(main, ["user", "list", "--db", str(path)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "customers" in result.output or "其他程序" in result.output
