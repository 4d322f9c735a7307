"""The Jinja context: printed text of every blank, tick boxes, county values, page id."""

from __future__ import annotations

import pytest

from fanpin_forms.errors import Code, FanpinError
from fanpin_forms.pagemark import BOX_EMPTY, BOX_TICKED
from fanpin_forms.render.context import pad, record_context, record_ident, strip_address_suffix
from fanpin_forms.render.layout import text_width

from .test_render_samples import YEAR, load


@pytest.fixture(scope="module")
def annex2_records(app, tmp_path_factory):
    return load(app, "annex2", tmp_path_factory.mktemp("ctx"))


def ctx_of(app, form_id, record, ident="C:YY-0001"):
    return record_context(app.form(form_id), record, app.county, YEAR, ident, types=app.field_types)


def test_blank_form_context(app):
    ctx = ctx_of(app, "annex2", None, "S:annex2-20220601-1")
    assert ctx["f_head_name"] == "\u3000" * 4  # narrowed from 6 to keep the header on one line
    assert ctx["f_id_number"].strip("\u3000") == ""
    assert all(v == BOX_EMPTY for k, v in ctx.items() if k.startswith("x_"))
    assert ctx["v_policy__baseline"] == "6900"  # county values are printed on blank forms too
    assert ctx["ident_text"] == "annex2 · 2022.2 · 第1/1页 · S:annex2-20220601-1"
    assert ctx["qr_payload"].startswith("FPF2|annex2|2022.2|S:annex2-20220601-1|1/1|")
    annex3 = ctx_of(app, "annex3", None, "S:x")
    assert annex3["f_county__short_name"].strip("\u3000\u2002") == "岳阳"


def test_filled_values_ticks_and_reason(app, annex2_records):
    first = annex2_records[0]
    ctx = ctx_of(app, "annex2", first, record_ident(first))
    assert ctx["v_head_name"] == "张三&李四" and ctx["f_head_name"].strip() == "张三&李四"
    assert ctx["v_id_number"] == "430621198001010018"
    assert ctx["v_sanbaozhang"] == "①、③"
    assert ctx["v_risk_types"] == "⑥、⑭"
    # ⑭其他's reason is printed right after its box, so a long reason never moves the boxes
    assert ctx["r_risk_types_14"] == "（房屋倒塌）"
    assert [ctx[f"x_sanbaozhang_{n}"] for n in range(1, 6)] == [BOX_TICKED, BOX_EMPTY, BOX_TICKED, BOX_EMPTY,
                                                                 BOX_EMPTY]
    assert ctx["x_risk_types_6"] == ctx["x_risk_types_14"] == BOX_TICKED and ctx["x_risk_types_7"] == BOX_EMPTY
    assert ctx["qr_payload"].split("|")[3] == "C:YY-0001"
    # the printed address drops the suffix the form already prints: 新墙(镇) 乡镇（街道/社区）
    assert ctx["f_address__township"].strip("\u3000\u2002") == "新墙"
    assert ctx["f_address__village"].strip("\u3000\u2002") == "清水"
    assert ctx["f_address__county"].strip("\u3000\u2002") == "岳阳"  # default from the county plugin
    assert ctx["v_address__township"] == "新墙镇"


def test_no_personal_data_in_page_id(app, annex2_records):
    for record in annex2_records:
        ctx = ctx_of(app, "annex2", record, record_ident(record))
        for secret in (record.values["id_number"], record.values.get("phone") or "—", record.values["head_name"]):
            assert secret not in ctx["qr_payload"] and secret not in ctx["ident_text"]


def test_long_code_lists_keep_the_boxes_in_place(app, tmp_path):
    """All five 三保障 codes do not fit an 8-character blank with separators: printed
    without them, the blank keeps its width and the tick boxes stay where the reader
    expects them."""
    from .test_render_samples import HOUSEHOLDS

    rows = [dict(HOUSEHOLDS[1], 三保障="①②③④⑤")]
    (record,) = load(app, "annex2", tmp_path, rows)
    ctx = ctx_of(app, "annex2", record, record_ident(record))
    blanks = [v for k, v in ctx.items() if k.startswith("f_") and "①" in str(v)]
    assert blanks and all("①②③④⑤" in v and "、" not in v for v in blanks)


def test_padding_keeps_blank_width():
    assert pad("", 4) == "\u3000" * 4
    assert text_width(pad("张三", 6)) == 6
    assert pad("十二个字的很长的村名称呀", 5) == "十二个字的很长的村名称呀"  # never cut
    assert abs(text_width(pad("4", 2)) - 2) < 0.5


@pytest.mark.parametrize("value, following, expected", [
    ("岳阳县", "县（市区）", "岳阳"),
    ("新墙镇", "乡（镇、街道）", "新墙"),
    ("荣家湾街道", "乡镇（街道）", "荣家湾"),
    ("荣家湾街道", "乡（镇、街道）", "荣家湾"),
    ("清水村", "村（社区）", "清水"),
    ("3组", "组\u3000联系电话：", "3"),
    ("3组", "村民小组。家庭", "3"),
    ("湘西土家族苗族自治州", "市（州）", "湘西土家族苗族自治州"),
    ("村", "村（社区）", "村"),
    ("清水村", "乡（镇、街道）", "清水村"),
])
def test_strip_address_suffix(value, following, expected):
    assert strip_address_suffix(value, following) == expected


def test_year_without_baseline_is_the_catalogue_error(app):
    with pytest.raises(FanpinError) as exc:
        record_context(app.form("annex2"), None, app.county, 1999, "S:x", types=app.field_types)
    assert exc.value.problems[0].code == Code.POLICY_NO_BASELINE


def test_control_characters_and_newlines_are_cleaned(app, annex2_records):
    import dataclasses

    record = dataclasses.replace(annex2_records[0], values={**annex2_records[0].values,
                                                            "head_name": "张\n三\x07\t"})
    ctx = ctx_of(app, "annex2", record)
    assert ctx["v_head_name"] == "张 三 "
