"""``fanpin templates check`` on county-edited templates (tags split across runs by Word)."""

from __future__ import annotations

import pytest

from fanpin_forms.errors import Code
from fanpin_forms.render.check import check_template
from fanpin_forms.render.template import build_template

from .test_render_fill import edit_template
from .test_render_samples import root


@pytest.fixture(scope="module")
def template(app):
    return build_template(app.form("annex2"))


def test_built_template_passes(app, template):
    result = check_template(app.form("annex2"), template, app.county, label="annex2.docx")
    assert result.ok, [str(p) for p in result.errors]
    assert not result.warnings
    assert {"f_head_name", "f_id_number", "x_risk_types_14", "ident_text"} <= result.variables


def test_misspelt_tag_split_across_runs_is_caught_with_a_suggestion(app, template):
    # Word split the tag into two runs (a spell-check mark in the middle) and the clerk misspelt it
    split = "{{ f_head_</w:t></w:r><w:proofErr w:type=\"spellStart\"/><w:r><w:rPr><w:b/></w:rPr><w:t>nme }}"
    edited = edit_template(template, "{{ f_head_name }}", split)
    result = check_template(app.form("annex2"), edited, app.county, label="county.docx")
    codes = [p.code for p in result.errors]
    assert Code.RENDER_TEMPLATE_UNKNOWN_VAR in codes and Code.RENDER_TEMPLATE_MISSING_FIELD in codes
    text = "\n".join(str(p) for p in result.errors)
    assert "「f_head_nme」" in text and "您是不是要写「f_head_name」" in text
    assert "户主姓名" in text and "{{ f_head_name }}" in text


def test_split_but_correct_tag_is_fine(app, template):
    split = "{{ f_head_</w:t></w:r><w:r><w:t>name }}"
    result = check_template(app.form("annex2"), edit_template(template, "{{ f_head_name }}", split), app.county)
    assert result.ok, [str(p) for p in result.errors]


def test_missing_required_address_part(app, template):
    edited = edit_template(template, "{{ f_address__village }}", "")
    result = check_template(app.form("annex2"), edited, app.county, label="c.docx")
    assert [str(p) for p in result.errors] == [
        Code.RENDER_TEMPLATE_MISSING_FIELD.format(path="c.docx", label="地址·村", var="{{ f_address__village }}")]


def test_tick_boxes_alone_show_a_choice_field(app, template):
    edited = template
    for _ in range(3):  # the blank appears in two stages; the padded variant could appear too
        try:
            edited = edit_template(edited, "{{ f_risk_types }}", "")
        except AssertionError:
            break
    result = check_template(app.form("annex2"), edited, app.county)
    assert result.ok, [str(p) for p in result.errors]


def test_unsafe_tag_found_by_the_trial_fill(app, template):
    edited = edit_template(template, "{{ f_phone }}", "{{ ''.__class__.__mro__ }}")
    result = check_template(app.form("annex2"), edited, app.county, label="evil.docx")
    assert [p.code for p in result.errors] == [Code.RENDER_TEMPLATE_UNSAFE]


def test_template_without_qr_is_a_warning(app, template):
    edited = edit_template(template, 'descr="fanpin-qr"', 'descr="logo"')
    edited = edit_template(edited, 'name="fanpin-qr"', 'name="logo"')
    result = check_template(app.form("annex2"), edited, app.county)
    assert result.ok and [p.code for p in result.warnings] == [Code.RENDER_TEMPLATE_NO_QR]


def test_cli_check_exit_codes(app, template, runner, tmp_path):
    good = tmp_path / "annex2.docx"
    good.write_bytes(template)
    result = runner.invoke(root, ["templates", "check", "--template", str(good)], obj=app)
    assert result.exit_code == 0, result.output
    assert "通过检查" in result.output
    bad = tmp_path / "县里的模板.docx"
    bad.write_bytes(edit_template(template, "{{ f_head_name }}", "{{ f_head_nme }}"))
    result = runner.invoke(root, ["templates", "check", "annex2", "--template", str(bad)], obj=app)
    assert result.exit_code == 1
    assert "f_head_nme" in result.output and "f_head_name" in result.output and "户主姓名" in result.output
    # no form given and not guessable from the name: the keywords the builder wrote say annex2
    result = runner.invoke(root, ["templates", "check", "--template", str(bad)], obj=app)
    assert result.exit_code == 1 and "f_head_nme" in result.output


def test_cli_check_bundled_templates(app, runner):
    result = runner.invoke(root, ["templates", "check"], obj=app)
    assert result.exit_code == 0, result.output
    assert result.output.count("通过检查") == 3
