"""The plugin author's kit (``fanpin_forms.testing``) used as a plugin's tests use it."""

from __future__ import annotations

import os
import types
from decimal import Decimal

import pytest

from fanpin_forms import County, error, hookimpl, rule
from fanpin_forms.errors import DataError
from fanpin_forms.testing import app_with, case, households, read_back, render_pdf, render_png, run_rule


@rule("县级审定后须公告", source="publicity_days")
def approved_needs_announcement(case, county, as_of):
    """县级审定后须有公告日期。"""
    if case["county_approval_date"] is not None and case["county_notice_date"] is None:
        yield error(f"{case.label('county_approval_date')}已填，缺少公告日期")


def _plugin():
    mod = types.ModuleType("fanpin_forms_kitxian")

    @hookimpl
    def register_counties(register):
        register(County(code="kitxian", name="测试县", short_name="测试", province="湖南省", city="岳阳市",
                        approving_body="测试县乡村振兴局", baselines={2022: Decimal("7000")}, publicity_days=7,
                        elimination_publicity_days=7, identify_within_days=15, measures_within_days=10,
                        system_entry_within_months=1, monthly_report_day=28, comparison_exempt=("低保",),
                        aid_first_causes=("灾",), sources={"publicity_days": "测试县通知：公示7天"}))

    mod.register_counties = register_counties
    return mod


@pytest.fixture(scope="module")
def app():
    return app_with(_plugin(), county="kitxian")


def test_the_shipped_pytest_plugin_isolates_the_home(fanpin_home):
    assert os.environ["FANPIN_FORMS_HOME"] == str(fanpin_home) and fanpin_home.is_dir()


def test_an_app_with_only_my_plugin(app):
    assert app.county.name == "测试县" and "yueyang" not in {c for c in app.counties}


def test_a_case_from_a_few_values_and_one_rule(app):
    ok = case(app, 县级审定日期="2022-06-10", county_notice_date="2022-06-12")
    bad = case(app, county_approval_date="2022-06-10")
    assert run_rule(app, approved_needs_announcement, ok) == []
    [found] = run_rule(app, approved_needs_announcement, bad)
    assert found.severity == "error" and "县级审定" in found.message
    assert found.source == "测试县通知：公示7天"  # the county's own words


def test_a_misspelt_key_is_an_error(app):
    with pytest.raises(DataError) as err:
        case(app, county_aproval_date="2022-06-10")
    assert "county_aproval_date" in str(err.value)


def test_a_bad_value_is_the_same_error_as_fanpin_check(app):
    with pytest.raises(DataError) as err:
        case(app, county_approval_date="2022-13-45")
    assert "县级审定" in str(err.value)


def test_print_look_and_read_back(app, tmp_path):
    pdf = render_pdf(app, "annex2", tmp_path / "a2.pdf", households(2, seed=3))
    [png1, png2] = render_png(pdf, tmp_path / "png", dpi=150)
    assert png1.stat().st_size > 10_000
    result = read_back(app, [png1, png2])
    assert sorted(r.case_id for r in result.read) == sorted(h['户编号'] for h in households(2, seed=3))
    assert all(r.form == "annex2" for r in result.read)
