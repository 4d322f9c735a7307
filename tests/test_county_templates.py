"""A county ships its own DOCX template: fill and blank print with it, read-back reads against it."""

from __future__ import annotations

import io
import types
import zipfile
from decimal import Decimal

import pytest
from click.testing import CliRunner

from fanpin_forms import County, hookimpl
from fanpin_forms.errors import PluginError
from fanpin_forms.render.template import build_template
from fanpin_forms.testing import app_with, households, read_back, render_pdf, render_png

MARK = "（测试县印制）"


def county_template(app, path):
    form = app.form("annex2")
    src = zipfile.ZipFile(io.BytesIO(build_template(form)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.decode("utf-8").replace(form.title, form.title + MARK, 1).encode("utf-8")
            out.writestr(item, data)
    path.write_bytes(buf.getvalue())
    return path


def plugin(template_path):
    mod = types.ModuleType("fanpin_forms_tplxian")

    @hookimpl
    def register_counties(register):
        register(County(code="tplxian", name="测试县", short_name="测试", province="湖南省", city="岳阳市",
                        approving_body="测试县乡村振兴局", baselines={2022: Decimal("7000")}, publicity_days=5,
                        elimination_publicity_days=5, identify_within_days=15, measures_within_days=10,
                        system_entry_within_months=1, monthly_report_day=28, comparison_exempt=("低保",),
                        aid_first_causes=("灾",)))

    @hookimpl
    def register_templates(register):
        register("annex2", template_path)

    mod.register_counties, mod.register_templates = register_counties, register_templates
    return mod


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from fanpin_forms.app import App

    path = county_template(App(), tmp_path_factory.mktemp("tpl") / "annex2.docx")
    return app_with(plugin(path), county="tplxian")


def test_fill_prints_with_the_countys_template(app, tmp_path):
    from fanpin_forms.cli import cli
    from fanpin_forms.testing import write_xlsx

    data = write_xlsx(tmp_path / "农户信息表.xlsx", households(2, seed=5))
    result = CliRunner().invoke(cli, ["fill", "annex2", "--data", str(data), "--year", "2022", "-o", str(tmp_path / "o")],
                                obj=app)
    assert result.exit_code == 0, result.output
    [doc, *_] = sorted((tmp_path / "o").glob("*.docx"))
    assert MARK in zipfile.ZipFile(doc).read("word/document.xml").decode("utf-8")


def test_read_back_compares_with_the_same_template(app, tmp_path):
    assert MARK in zipfile.ZipFile(io.BytesIO(app.read_setup().printer.compile(app.form("annex2"), None).data)
                                   ).read("word/document.xml").decode("utf-8")
    pages = render_png(render_pdf(app, "annex2", tmp_path / "a2.pdf", households(2, seed=5)), tmp_path / "png")
    result = read_back(app, pages)
    assert sorted(r.case_id for r in result.read) == sorted(h["户编号"] for h in households(2, seed=5))


def test_a_template_for_an_unknown_file_is_a_plugin_error(tmp_path):
    app = app_with(plugin(tmp_path / "missing.docx"), county="tplxian")
    with pytest.raises(PluginError) as err:
        app.templates  # noqa: B018
    assert "模板" in str(err.value)
