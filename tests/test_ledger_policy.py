"""``fanpin policy set|show``: a county office's values in the ledger, with an audit row, winning
over the plugin's wherever the baseline is used."""

from __future__ import annotations

import zipfile
from decimal import Decimal

import pytest
import sqlalchemy as sa

from .test_render_samples import HOUSEHOLDS, write_json
from fanpin_forms.app import App
from fanpin_forms.cli import cli
from fanpin_forms.errors import Code, FanpinError
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.models import Audit, Operation, PolicyValue

SOURCE = "岳县委乡振组办发〔2026〕1号"


def run(runner, *args, env=None):
    return runner.invoke(cli, [str(a) for a in args], env=env)


def test_set_records_value_source_who_and_an_audit_row(runner, ledger_url):
    result = run(runner, "policy", "set", "baseline", 2026, 7800, "--source", SOURCE, "--db", ledger_url,
                 env={"FANPIN_FORMS_USER": "县乡村振兴局王五"})
    assert result.exit_code == 0, result.output
    assert f"已录入 2026 年监测收入基准线 7800 元，依据 {SOURCE}" in result.output
    result = run(runner, "policy", "set", "baseline", 2026, "7900.50", "--source", "改文", "--db", ledger_url,
                 env={"FANPIN_FORMS_USER": "赵六"})
    assert result.exit_code == 0 and "（原为 7800 元）" in result.output
    ledger = Ledger.open(ledger_url)
    try:
        with ledger.read() as s:
            values = s.execute(sa.select(PolicyValue.name, PolicyValue.year, PolicyValue.value, PolicyValue.source,
                                         PolicyValue.actor)).all()
            audit = s.execute(sa.select(Audit.actor, Audit.entity, Audit.field, Audit.old, Audit.new)
                              .order_by(Audit.id)).all()
            kinds = s.scalars(sa.select(Operation.kind)).all()
    finally:
        ledger.close()
    assert [tuple(v) for v in values] == [("baseline", 2026, '"7900.50"', "改文", "赵六")]
    assert [tuple(a) for a in audit] == [
        ("县乡村振兴局王五", "policy_values", "baseline:2026", None, f"7800（{SOURCE}）"),
        ("赵六", "policy_values", "baseline:2026", f"7800（{SOURCE}）", "7900.50（改文）")]
    assert kinds == ["policy", "policy"]


def test_show_lists_plugin_and_ledger_values_with_their_sources(runner, ledger_url):
    run(runner, "policy", "set", "baseline", 2022, 7000, "--source", SOURCE, "--db", ledger_url)
    run(runner, "policy", "set", "baseline", 2026, 7800, "--source", SOURCE, "--db", ledger_url)
    result = run(runner, "policy", "show", "--db", ledger_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    plugin_2022 = next(line for line in lines if "2022" in line and "插件" in line)
    assert "6900 元" in plugin_2022 and "已被台账中的值覆盖" in plugin_2022 and "岳县委乡振组办发〔2022〕4号" in plugin_2022
    ledger_2022 = next(line for line in lines if "2022" in line and "台账录入" in line)
    assert "7000 元" in ledger_2022 and SOURCE in ledger_2022
    assert any("2026" in line and "7800 元" in line for line in lines)


def test_show_without_a_ledger_lists_the_plugins_values_and_creates_nothing(runner, tmp_path):
    db = tmp_path / "none.sqlite3"
    result = run(runner, "policy", "show", "--db", db)
    assert result.exit_code == 0, result.output
    assert "6900 元" in result.output and not db.exists()


def test_the_ledger_value_wins_in_the_county_every_part_receives(runner, ledger_url):
    assert App("yueyang", db=ledger_url).county.baselines == {2022: Decimal("6900")}
    run(runner, "policy", "set", "baseline", 2022, 7000, "--source", SOURCE, "--db", ledger_url)
    run(runner, "policy", "set", "baseline", 2026, 7800, "--source", SOURCE, "--db", ledger_url)
    app = App("yueyang", db=ledger_url)
    assert app.county.baseline(2026) == Decimal("7800") and app.county.baseline(2022) == Decimal("7000")
    assert app.plugin_county.baseline(2022) == Decimal("6900")
    assert app.ledger_setup().county.baseline(2026) == Decimal("7800")
    assert app.county.placeholders(2026)["policy.baseline"] == "7800"


def test_fill_prints_the_ledger_baseline(runner, ledger_url, tmp_path):
    data = write_json(tmp_path / "hh.json", HOUSEHOLDS[:1])
    missing = run(runner, "--db", ledger_url, "fill", "annex2", "--data", data, "-o", tmp_path / "a", "--year", 2026)
    assert missing.exit_code == 1
    assert 'fanpin policy set baseline 2026 金额 --source "文号"' in missing.output
    run(runner, "policy", "set", "baseline", 2026, 7800, "--source", SOURCE, "--db", ledger_url)
    result = run(runner, "--db", ledger_url, "fill", "annex2", "--data", data, "-o", tmp_path / "b", "--year", 2026)
    assert result.exit_code == 0, result.output
    (docx,) = (tmp_path / "b").glob("*.docx")
    with zipfile.ZipFile(docx) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    assert "7800" in xml and "6900" not in xml


@pytest.mark.parametrize("args, message", [
    (("baselin", 2026, 7800), "没有名为「baselin」的政策值，您是不是要写「baseline」？"),
    (("baseline", 1999, 7800), "年份「1999」无效"),
    (("baseline", "二〇二六", 7800), "年份「二〇二六」无效"),
    (("baseline", 2026, "七千"), "应为金额（元）"),
    (("baseline", 2026, 0), "应为 0 至"),
    (("baseline", 2026, "7800.123"), "最多两位小数"),
    (("baseline", 2026, "NaN"), "应为 0 至"),
])
def test_bad_values_are_refused_and_nothing_is_written(runner, tmp_path, args, message):
    db = tmp_path / "l.sqlite3"
    result = run(runner, "policy", "set", *args, "--source", SOURCE, "--db", db)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert not db.exists()


def test_missing_source_is_refused(runner, tmp_path):
    result = run(runner, "policy", "set", "baseline", 2026, 7800, "--source", "  ", "--db", tmp_path / "l.sqlite3")
    assert result.exit_code == 1 and "文号" in result.output


def test_missing_baseline_says_who_can_set_it():
    with pytest.raises(FanpinError) as exc:
        App("yueyang").county.baseline(2031)
    problem = exc.value.problems[0]
    assert problem.code == Code.POLICY_NO_BASELINE
    assert "县乡村振兴局" in str(problem) and "fanpin policy set baseline 2031" in str(problem)
