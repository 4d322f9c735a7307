"""The fill engine: right values in the right file, escaping, sandbox, atomic writes, names."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import docx
import pytest

from fanpin_forms.errors import Code, FanpinError, RenderError
import fanpin_forms.util.atomic as atomic_mod
from fanpin_forms.render import fill as fill_mod
from fanpin_forms.util import parallel
from fanpin_forms.render.context import record_context, record_ident
from fanpin_forms.render.fill import CompiledTemplate, fill_batch
from fanpin_forms.render.merge import render_merged
from fanpin_forms.render.filenames import file_names
from fanpin_forms.render.template import build_template, document_xml

from benchmarks.naive import naive_render

from .test_render_samples import HOUSEHOLDS, YEAR, load


@pytest.fixture(scope="module")
def records(app, tmp_path_factory):
    return load(app, "annex2", tmp_path_factory.mktemp("fill"))


@pytest.fixture(scope="module")
def template(app):
    return build_template(app.form("annex2"))


def docx_text(path_or_bytes) -> str:
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    d = docx.Document(src)
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)


def edit_template(data: bytes, old: str, new: str) -> bytes:
    """A copy of a DOCX with ``old`` replaced in document.xml (as a county clerk's Word would)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            blob = src.read(item.filename)
            if item.filename == "word/document.xml":
                text = blob.decode("utf-8")
                assert old in text
                blob = text.replace(old, new, 1).encode("utf-8")
            z.writestr(item, blob)
    return out.getvalue()


def contexts(app, records):
    form = app.form("annex2")
    return [record_context(form, r, app.county, YEAR, record_ident(r), types=app.field_types) for r in records]


@pytest.mark.parametrize("workers", [1, 2])
def test_each_file_has_its_own_household_and_nobody_elses(app, records, tmp_path, workers, monkeypatch):
    monkeypatch.setattr(fill_mod, "POOL_THRESHOLD", 2)  # make the pool path run with few records
    monkeypatch.setattr(fill_mod, "CHUNK", 2)
    done = []
    paths = fill_batch(app.form("annex2"), records, app.county, tmp_path, year=YEAR, workers=workers,
                       progress=done.append, types=app.field_types)
    assert sum(done) == len(records) and len(paths) == len(records)
    texts = [docx_text(p) for p in paths]
    for i, (record, text) in enumerate(zip(records, texts)):
        assert record.values["head_name"] in text and record.values["id_number"] in text
        assert f"C:{record.case_id}" in text
        for j, other in enumerate(records):
            if j != i:
                assert other.values["id_number"] not in text
                assert f"C:{other.case_id}" not in text
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in paths)  # no temporary files left


def test_escaping_and_astral_characters_come_out_exactly(app, records, template, tmp_path):
    compiled = CompiledTemplate(template)
    by_id = {r.case_id: r for r in records}
    for case_id, expected in (("YY-0001", "张三&李四"), ("YY-0005", "李<b>\"四\"'"), ("YY-0003", "王䶮𠮷"),
                              ("YY-0002", "欧阳娜娜")):
        record = by_id[case_id]
        out = compiled.render_to(tmp_path / f"{case_id}.docx", contexts(app, [record])[0])
        text = docx_text(out)
        assert expected in text
    assert "河<东>" in docx_text(tmp_path / "YY-0005.docx")


def test_fast_path_equals_naive_docxtpl(app, records, template, tmp_path):
    compiled = CompiledTemplate(template)
    for i, ctx in enumerate(contexts(app, records)):
        fast = compiled.render_to(tmp_path / f"fast{i}.docx", ctx)
        slow = naive_render(template, ctx, tmp_path / f"slow{i}.docx")
        assert docx_text(fast) == docx_text(slow)
        with zipfile.ZipFile(fast) as a, zipfile.ZipFile(slow) as b:
            assert a.read(compiled.qr_media) == b.read(compiled.qr_media)  # the same QR image


def test_sandbox_refuses_python_internals_in_a_county_template(app, template, tmp_path):
    # typed in Word: smart quotes, which docxtpl turns back into ''
    evil = edit_template(template, "{{ f_head_name }}", "{{ ‘’.__class__.__mro__ }}")
    compiled = CompiledTemplate(evil, label="county.docx")
    with pytest.raises(RenderError) as exc:
        compiled.render_bytes(record_context(app.form("annex2"), None, app.county, YEAR, "S:x",
                                             types=app.field_types))
    problem = exc.value.problems[0]
    assert problem.code == Code.RENDER_TEMPLATE_UNSAFE
    assert "模板只能引用表单的值" in str(exc.value) and "county.docx" in str(exc.value)
    assert not list(tmp_path.iterdir())


def test_unknown_variable_fails_loudly_instead_of_printing_nothing(app, template):
    compiled = CompiledTemplate(edit_template(template, "{{ f_head_name }}", "{{ f_head_nme }}"), label="x.docx")
    with pytest.raises(RenderError) as exc:
        compiled.render_bytes(record_context(app.form("annex2"), None, app.county, YEAR, "S:x",
                                             types=app.field_types))
    assert exc.value.problems[0].code == Code.RENDER_TEMPLATE_UNKNOWN_VAR and "f_head_nme" in str(exc.value)


def test_syntax_error_names_the_place(template):
    with pytest.raises(RenderError) as exc:
        CompiledTemplate(edit_template(template, "{{ f_head_name }}", "{{ f_head_name }"), label="bad.docx")
    assert exc.value.problems[0].code == Code.RENDER_TEMPLATE_SYNTAX and "bad.docx" in str(exc.value)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("failure", [OSError, KeyboardInterrupt])
def test_failure_mid_batch_leaves_no_partial_or_temporary_files(app, records, tmp_path, monkeypatch, workers,
                                                                failure):
    monkeypatch.setattr(fill_mod, "POOL_THRESHOLD", 2)
    monkeypatch.setattr(fill_mod, "CHUNK", 1)
    # the flaky writer below reaches the workers only through fork (forkserver children
    # import afresh); the fill workers never touch OpenCV, so fork is safe here
    monkeypatch.setattr(parallel, "fork_is_safe", lambda: True)
    calls = {"n": 0}
    real = atomic_mod._write_bytes

    def flaky(fh, data):
        calls["n"] += 1
        if calls["n"] == 3:  # in every process: the third file breaks half-way
            fh.write(data[: len(data) // 2])
            raise failure(28, "No space left on device") if failure is OSError else failure()
        real(fh, data)

    monkeypatch.setattr(atomic_mod, "_write_bytes", flaky)
    expected = (RenderError, KeyboardInterrupt) if workers == 1 else (RenderError, KeyboardInterrupt, FanpinError)
    with pytest.raises(expected):
        fill_batch(app.form("annex2"), records, app.county, tmp_path, year=YEAR, workers=workers,
                   types=app.field_types)
    left = list(tmp_path.iterdir())
    assert all(p.suffix == ".docx" for p in left), left  # no temporary files
    for path in left:  # whatever was written is complete
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None and "word/document.xml" in z.namelist()
    assert len(left) < len(records)


def test_io_error_is_a_catalogue_error(app, records, tmp_path, monkeypatch):
    def broken(fh, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_mod, "_write_bytes", broken)
    with pytest.raises(RenderError) as exc:
        fill_batch(app.form("annex2"), records[:1], app.county, tmp_path, year=YEAR, types=app.field_types)
    assert exc.value.problems[0].code == Code.IO_WRITE
    assert not list(tmp_path.iterdir())


def test_merged_document_has_one_page_and_one_qr_per_form(app, records, template):
    compiled = CompiledTemplate(template)
    ctxs = contexts(app, records)
    data = render_merged(compiled, ctxs)
    xml = document_xml(data)
    assert xml.count("<w:pageBreakBefore/>") == len(ctxs) - 1
    assert xml.count('descr="fanpin-qr"') == len(ctxs)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
        assert len(media) == len(ctxs)
        rels = z.read("word/_rels/document.xml.rels").decode()
        assert all(f'Id="rIdFpQr{i}"' in rels for i in range(1, len(ctxs)))
    text = docx_text(data)
    for record in records:
        assert f"C:{record.case_id}" in text and record.values["id_number"] in text
    ids = [int(i) for i in re.findall(r'<wp:docPr id="(\d+)"', xml)]
    assert len(ids) == len(set(ids))


# --- file names --------------------------------------------------------------------------


def test_default_names_drop_missing_parts_and_replace_illegal_characters(app, records):
    form = app.form("annex2")
    names = file_names(form, records, "{township}_{village}_{head_name}_{case_id}", types=app.field_types)
    assert names[0] == "新墙镇_清水村_张三&李四_YY-0001.docx"
    assert names[4] == "新墙镇_河_东_村_李_b_四_'_YY-0005.docx"
    import dataclasses

    no_case = dataclasses.replace(records[2], case_id=None)
    assert file_names(form, [no_case], "{township}_{village}_{head_name}_{case_id}") == ["新墙镇_清水村_王䶮𠮷.docx"]


def test_sensitive_value_in_another_column_never_reaches_a_file_name(app, records):
    import dataclasses

    record = records[0]
    leaked = dataclasses.replace(record, values={**record.values, "address": {**record.values["address"],
                                                                              "village": record.values["id_number"]}})
    (name,) = file_names(app.form("annex2"), [leaked], "{village}_{head_name}")
    assert record.values["id_number"] not in name and "19800101" not in name
    assert name.endswith("_张三&李四.docx")


def test_duplicate_names_get_a_suffix(app, records):
    names = file_names(app.form("annex2"), [records[0], records[0], records[0]], "{head_name}")
    assert names == ["张三&李四.docx", "张三&李四_2.docx", "张三&李四_3.docx"]


@pytest.mark.parametrize("pattern, code", [
    ("{id_number}", Code.RENDER_NAME_SENSITIVE),
    ("{village}_{phone}", Code.RENDER_NAME_SENSITIVE),
    ("{head_nme}", Code.RENDER_NAME_UNKNOWN),
    ("{head_name:>10}", Code.RENDER_NAME_BAD),
    ("{head_name", Code.RENDER_NAME_BAD),
])
def test_sensitive_or_unknown_name_fields_are_refused(app, records, pattern, code):
    with pytest.raises(RenderError) as exc:
        file_names(app.form("annex2"), records, pattern)
    assert exc.value.problems[0].code == code
    if code == Code.RENDER_NAME_UNKNOWN:
        assert "head_name" in str(exc.value)


def test_windows_reserved_names(app, records):
    import dataclasses

    record = dataclasses.replace(records[0], values={**records[0].values, "head_name": "CON"}, case_id=None)
    assert file_names(app.form("annex2"), [record], "{head_name}") == ["_CON.docx"]


def test_sample_rows_cover_the_hard_cases():
    names = [row["户主姓名"] for row in HOUSEHOLDS]
    assert "欧阳娜娜" in names and "司马相如" in names and any("𠮷" in n for n in names)
    assert any(len(row["村"]) >= 12 for row in HOUSEHOLDS)


def test_missing_template_file(tmp_path):
    with pytest.raises(RenderError) as exc:
        CompiledTemplate(Path(tmp_path / "nope.docx"))
    assert exc.value.problems[0].code == Code.RENDER_TEMPLATE_MISSING
    (tmp_path / "x.docx").write_bytes(b"not a zip")
    with pytest.raises(RenderError) as exc:
        CompiledTemplate(tmp_path / "x.docx")
    assert exc.value.problems[0].code == Code.RENDER_TEMPLATE_UNREADABLE
