"""Templates built from the specs: structure, fonts, tables, and the checked-in copies."""

from __future__ import annotations

import io
import re
import textwrap
import zipfile

import docx
import pytest
from docx.oxml.ns import qn

from fanpin_forms.render import names as N
from fanpin_forms.render.fill import CompiledTemplate
from fanpin_forms.render.layout import printed_widths
from fanpin_forms.render.template import build_template, document_xml
from fanpin_forms.util.resources import bundled
from fanpin_forms.forms.spec import load_spec

ANNEXES = ("annex1", "annex2", "annex3")


@pytest.fixture(scope="module")
def built(app):
    return {fid: build_template(app.form(fid)) for fid in ANNEXES}


@pytest.mark.parametrize("form_id", ANNEXES)
def test_checked_in_template_equals_a_fresh_build(built, form_id):
    """Drift test: edit a spec (or the builder) and not the template, and this fails.
    Fix with ``fanpin templates build -o templates --force``."""
    path = bundled("templates") / f"{form_id}.docx"
    assert path.is_file(), f"{path} missing: run fanpin templates build -o templates --force"
    assert document_xml(path.read_bytes()) == document_xml(built[form_id]), \
        f"{path.name} is out of date: run fanpin templates build -o templates --force"


def test_build_is_deterministic(app, built):
    assert build_template(app.form("annex2")) == built["annex2"]


def _texts(data: bytes) -> str:
    d = docx.Document(io.BytesIO(data))
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)


@pytest.mark.parametrize("form_id", ANNEXES)
def test_official_wording_and_one_tag_per_blank(app, built, form_id):
    form = app.form(form_id)
    text = _texts(built[form_id])
    assert form.title in text and form.annex in text
    for stage in form.stages:
        assert stage.title in text.replace("\n", "")  # stage titles are broken over two lines
    assert "说明：" in text and "年\u3000\u3000月\u3000\u3000日" in text
    for code in form.all_codes():
        assert code.mark + (code.text or code.name).split("{")[0] in text
    tags = set(re.findall(r"\{\{ ([a-z0-9_]+) \}\}", text))
    assert tags <= set(printed_widths(form)) | {N.IDENT_VAR, "v_policy__baseline"} | {
        N.tick_var(f.key, c.no) for f in form.fields if f.type.endswith("choice")
        for lid in f.code_lists for c in form.code_lists[lid].codes} | {N.reason_var("risk_types", 14)}
    assert "{{ f_head_name }}" in text and "{{ ident_text }}" in text
    # choice blanks are followed by their codes as tick boxes; ⑭其他's reason follows its box
    assert "{{ x_risk_types_6 }}\u00a0⑥" in text and "{{ x_risk_types_14 }}\u00a0⑭{{ r_risk_types_14 }}" in text


def test_annex2_layout_matches_the_notice(built):
    d = docx.Document(io.BytesIO(built["annex2"]))
    assert len(d.tables) == 1
    table = d.tables[0]
    titles = [row.cells[0].text.replace("\n", "") for row in table.rows]
    assert titles == ["入户核实", "村（居）评议公示", "乡镇（街道）审核", "县级审定"]
    right = table.rows[2].cells[1].text
    assert "乡镇党委（街道）书记（签字）：" in right and "乡镇长（街道主任）（签字）：" in right
    assert "县乡村振兴局（盖章）" in table.rows[3].cells[1].text
    notes = [p.text for p in d.paragraphs if p.text.startswith(("说明", "2.", "3.", "①", "⑥"))]
    assert notes[0] == "说明：1.此表一式 2 份，乡镇和村委会各一份。"
    assert "2.“三保障”和饮水安全状况" in notes and "3.风险类型" in notes
    assert "①监测户当年人均纯收入低于 {{ v_policy__baseline }} 元；" in notes
    assert notes[-1] == "⑥因病；⑦因学；⑧因残；⑨因自然灾害；⑩因意外事故；⑪因产业项目失败；⑫因务工就业不稳；⑬缺劳动力；⑭其他。"


def test_page_setup_fonts_and_table_widths(built):
    for form_id, data in built.items():
        d = docx.Document(io.BytesIO(data))
        section = d.sections[0]
        assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7
        # every run names its East Asian font (Word and LibreOffice ignore run.font.name for Chinese)
        body = d.element.body
        for run in body.iter(qn("w:r")):
            if run.find(qn("w:t")) is None:
                continue
            fonts = run.find(qn("w:rPr") + "/" + qn("w:rFonts"))
            assert fonts is not None and fonts.get(qn("w:eastAsia")), form_id
        for table in d.tables:
            tbl_pr = table._tbl.tblPr
            assert tbl_pr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
            grid = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.iter(qn("w:gridCol"))]
            assert grid[0] < grid[1]  # the stage-title column is the narrow one
            for row in table.rows:
                for cell, width in zip(row.cells, grid):
                    assert abs(int(cell._tc.tcPr.find(qn("w:tcW")).get(qn("w:w"))) - width) <= 1
            borders = tbl_pr.find(qn("w:tblBorders"))
            assert {b.get(qn("w:val")) for b in borders} == {"single"}


def test_tick_boxes_use_one_font_with_both_glyphs(built):
    xml = document_xml(built["annex2"])
    runs = re.findall(r"<w:r>(?:(?!</w:r>).)*\{\{ x_\w+ \}\}(?:(?!</w:r>).)*</w:r>", xml)
    assert runs and all(f'w:eastAsia="{N.BOX_FONT}"' in r and f'w:ascii="{N.BOX_FONT}"' in r for r in runs)


def test_qr_placeholder_is_an_anchored_picture_top_right(built):
    for form_id, data in built.items():
        compiled = CompiledTemplate(data)
        assert compiled.has_qr and compiled.qr_in_body and compiled.can_merge, form_id
        xml = document_xml(data)
        anchor = re.search(r"<wp:anchor\b.*?</wp:anchor>", xml, re.S).group(0)
        assert f'descr="{N.QR_DESCR}"' in anchor
        assert "<wp:align>right</wp:align>" in anchor and 'relativeFrom="page"' in anchor
        assert 'cx="720000"' in anchor  # 2 cm
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            assert z.getinfo(compiled.qr_media).compress_type == zipfile.ZIP_STORED


def test_annex3_prints_the_county_short_name_blank(built):
    text = _texts(built["annex3"])
    assert "{{ f_county__short_name }}县（市、区）乡村振兴局（盖章）：" in text
    assert "户主签名：" in text


def test_table_block_renders_a_repeating_row(app, tmp_path):
    spec = tmp_path / "members.yaml"
    spec.write_text(textwrap.dedent("""\
        form: members
        annex: 附件9
        title: 家庭成员信息表
        version: "1"
        fields:
          - {key: head_name, label: 户主姓名, type: text, required: true}
          - key: members
            label: 家庭成员
            type: table
            max_rows: 4
            columns:
              - {key: name, label: 姓名, type: text, required: true}
              - {key: relation, label: 与户主关系, type: choice, options: [户主, 配偶, 子女]}
        layout:
          - text: "户主姓名：{head_name:6}"
          - table: members
        """), encoding="utf-8")
    form = load_spec(spec, app.field_types)
    data = build_template(form)
    d = docx.Document(io.BytesIO(data))
    table = d.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["姓名", "与户主关系"]
    assert "{%tr for row in t_members %}" in table.rows[1].cells[0].text
    assert [c.text for c in table.rows[2].cells] == ["{{ row.c_name }}", "{{ row.c_relation }}"]
    # a blank form prints max_rows empty rows; a filled one its rows, padded to max_rows
    from fanpin_forms.intake.records import Record
    from fanpin_forms.render.context import record_context

    compiled = CompiledTemplate(data)
    record = Record("members", {"head_name": "张三", "members": [{"name": "张三", "relation": "户主"},
                                                                 {"name": "李四", "relation": "配偶"}]})
    for rec, expected in ((None, []), (record, ["张三", "李四"])):
        ctx = record_context(form, rec, app.county, 2022, "S:x" if rec is None else "C:1", types=app.field_types)
        out = docx.Document(io.BytesIO(compiled.render_bytes(ctx)))
        rows = out.tables[0].rows
        assert len(rows) == 1 + 4
        assert [r.cells[0].text for r in rows[1:] if r.cells[0].text] == expected
