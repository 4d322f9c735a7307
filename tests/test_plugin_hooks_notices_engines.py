"""The notice hook (columns and wording of a county, never a sensitive column, the leak
guard still on) and the engine hooks (OCR engine, PDF converter), over the real CLI."""

from __future__ import annotations

import json
import shutil
import types
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document

from fanpin_forms import hookimpl
from fanpin_forms.app import App
from fanpin_forms.cli import cli
from fanpin_forms.errors import Code, FanpinError, PluginError

from .conftest import TEST_COUNTY
from .test_notices import sensitive_rows, write_ledger

LEDGER_EXTRA = "extends: ledger\nfields:\n  - key: helper\n    label: 帮扶责任人\n    type: text\n"


def _plugin(tmp_path: Path, **registration):
    spec = tmp_path / "ledger_helper.yaml"
    spec.write_text(LEDGER_EXTRA, encoding="utf-8")

    @hookimpl
    def register_forms(register):
        register(spec)

    @hookimpl
    def register_notices(register):
        register(**registration)

    return types.SimpleNamespace(__name__="xiannotice", register_forms=register_forms,
                                 register_notices=register_notices)


def _run(app: App, *args: str):
    return CliRunner().invoke(cli, list(args), obj=app, catch_exceptions=False)


def _texts(folder: Path) -> str:
    out = []
    for path in sorted(folder.glob("*.docx")):
        doc = Document(str(path))
        out += [p.text for p in doc.paragraphs]
        out += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    for path in sorted(folder.glob("*.html")):
        out.append(path.read_text(encoding="utf-8"))
    return "\n".join(out)


def _ledger(tmp_path: Path, helper: str = "王帮扶") -> Path:
    rows = [dict(r, 帮扶责任人=helper) for r in sensitive_rows()]
    return write_ledger(tmp_path, rows)


def test_a_county_adds_a_column_and_rewords_the_objection(tmp_path):
    plugin = _plugin(tmp_path, columns=("helper",),
                     wording={"village_objection": "如有异议，请于{days}天内向{village}村民委员会反映。",
                              "county_closing": "特此公告，请相互转告。"})
    app = App(TEST_COUNTY, extra_plugins=(plugin,))
    data = _ledger(tmp_path)
    village = _run(app, "notice", "village", "--data", str(data), "-o", str(tmp_path / "v"))
    assert village.exit_code == 0, village.output
    text = _texts(tmp_path / "v")
    assert "帮扶责任人" in text and "王帮扶" in text
    assert "如有异议，请于5天内向杨林村村民委员会反映。" in text
    county = _run(App(TEST_COUNTY, extra_plugins=(plugin,)), "notice", "county", "--data", str(data),
                  "-o", str(tmp_path / "c"), "--date", "2022-07-10")
    assert county.exit_code == 0, county.output
    text = _texts(tmp_path / "c")
    assert "特此公告，请相互转告。" in text and text.count("帮扶责任人") >= 2  # DOCX and HTML


def test_columns_can_be_chosen_and_ordered(tmp_path):
    plugin = _plugin(tmp_path, columns=("helper",), village_columns=("name", "helper", "group"))
    app = App(TEST_COUNTY, extra_plugins=(plugin,))
    result = _run(app, "notice", "village", "--data", str(_ledger(tmp_path)), "-o", str(tmp_path / "v"))
    assert result.exit_code == 0, result.output
    doc = Document(str(sorted((tmp_path / "v").glob("*.docx"))[0]))
    assert [c.text for c in doc.tables[0].rows[0].cells] == ["序号", "户主姓名", "帮扶责任人", "村民小组"]


@pytest.mark.parametrize("column, label", [("health", "健康状况"), ("id_number", "身份证号码"), ("phone", "联系电话"),
                                           ("bank_account", "银行账号")])
def test_a_sensitive_column_is_an_error_naming_it(tmp_path, column, label):
    app = App(TEST_COUNTY, extra_plugins=(_plugin(tmp_path, columns=(column,)),))
    with pytest.raises(PluginError) as exc:
        app.notice_style  # noqa: B018
    [problem] = exc.value.problems
    assert problem.code is Code.NOTICE_COLUMN_SENSITIVE and label in str(problem) and "xiannotice" in str(problem)
    result = _run(App(TEST_COUNTY, extra_plugins=(_plugin(tmp_path, columns=(column,)),)),
                  "notice", "village", "--data", str(_ledger(tmp_path)), "-o", str(tmp_path / "v"))
    assert result.exit_code != 0 and label in result.output and "Traceback" not in result.output
    assert not (tmp_path / "v").exists() or not any((tmp_path / "v").iterdir())


@pytest.mark.parametrize("registration, words", [
    ({"columns": ("helpr",)}, "helper"), ({"wording": {"objection": "x"}}, "village_objection"),
    ({"village_columns": ("name", "phone_no")}, "不是内置列")])
def test_unknown_columns_and_sentences_are_errors_with_a_hint(tmp_path, registration, words):
    app = App(TEST_COUNTY, extra_plugins=(_plugin(tmp_path, **registration),))
    with pytest.raises(PluginError) as exc:
        app.notice_style  # noqa: B018
    assert words in str(exc.value)


def test_the_leak_guard_still_checks_an_added_column(tmp_path):
    plugin = _plugin(tmp_path, columns=("helper",))
    data = _ledger(tmp_path, helper="李四 13807301234")
    result = _run(App(TEST_COUNTY, extra_plugins=(plugin,)), "notice", "village", "--data", str(data),
                  "-o", str(tmp_path / "v"))
    assert result.exit_code != 0
    assert "帮扶责任人" in result.output and "13807301234" not in result.output
    assert not (tmp_path / "v").exists() or not any((tmp_path / "v").iterdir())


# --- engines -------------------------------------------------------------------------------------


class _Converted:
    calls: list[list[str]] = []


def _recording_converter(inputs, outdir, *, timeout=None):
    """LibreOffice, but each call noted (a converter of the plugin's own)."""
    from fanpin_forms.office.libreoffice import docx_to_pdf

    _Converted.calls.append([Path(p).name for p in inputs])
    return docx_to_pdf(inputs, outdir, timeout=timeout)


def test_the_pdf_converter_hook_is_used_for_printing(tmp_path):
    @hookimpl
    def pdf_converter():
        return _recording_converter

    _Converted.calls.clear()
    app = App(TEST_COUNTY, extra_plugins=(types.SimpleNamespace(__name__="xianpdf", pdf_converter=pdf_converter),))
    result = _run(app, "blank", "annex1", "--year", "2022", "-o", str(tmp_path / "a1.pdf"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a1.pdf").stat().st_size > 1000 and _Converted.calls
    App(TEST_COUNTY)  # a new App takes the built-in converter again
    from fanpin_forms.office.converter import converter
    from fanpin_forms.office.libreoffice import docx_to_pdf

    assert converter() is docx_to_pdf


class _FakeOCR:
    """An OCR engine that reads every line as one text (answers as RapidOCR does)."""

    def __call__(self, img, **kwargs):
        return types.SimpleNamespace(txts=("假的文字",), scores=(0.99,), boxes=None, word_results=())


def test_the_ocr_engine_hook_is_what_read_back_uses():
    from fanpin_forms.readback import ocr

    fake = _FakeOCR()

    @hookimpl
    def ocr_engine():
        return fake

    app = App(TEST_COUNTY, extra_plugins=(types.SimpleNamespace(__name__="xianocr", ocr_engine=ocr_engine),))
    app.read_setup()
    import numpy as np

    assert ocr.engine() is fake and ocr.read_line(np.full((30, 200), 255, np.uint8)).text == "假的文字"
    App(TEST_COUNTY).read_setup()
    assert ocr.engine() is ocr.rapidocr_engine()  # the built-in engine again
