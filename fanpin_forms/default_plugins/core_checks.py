"""Core record checks that hold for every county."""

from fanpin_forms import hookimpl
from fanpin_forms.intake.checks import Finding
from fanpin_forms.errors import Code


def reason_for_other(record, form, county):
    """选择⑭“其他”等须写明原因的代码时，必须填写具体原因（附件1：填写⑭“其他”需写明具体原因）。"""
    for field in form.fields:
        reason_key = field.params.get("reason_field")
        chosen = record.values.get(field.key) or ()
        chosen = chosen if isinstance(chosen, tuple) else (chosen,)
        if not reason_key or record.values.get(reason_key):
            continue
        for code in (c for lid in field.code_lists for c in form.code_lists[lid].codes):
            if code.needs_reason and code.no in chosen:
                reason = form.field(reason_key)
                yield Finding.error(reason_key, Code.VALUE_REASON_REQUIRED.format(
                    mark=code.mark, name=code.name, reason_label=reason.label if reason else reason_key))


def household_size_matches_members(record, form, county):
    """家庭人口应与家庭成员表的人数一致（表单有家庭成员表且已填写时）。"""
    size = record.values.get("household_size")
    for field in form.fields:
        members = record.values.get(field.key)
        if field.type == "table" and members and size is not None and len(members) != size:
            yield Finding.error("household_size", Code.CHECK_SIZE_VS_MEMBERS.format(size=size, members=len(members)))


@hookimpl
def register_checks(register):
    register(reason_for_other)
    register(household_size_matches_members)
