"""LibreOffice as a converter that is recycled every N conversions and that cannot hang a job:
converter stubs (scripts given through ``docx_to_pdf(soffice=…)``) that sleep or that record the
profile they were given, the real LibreOffice reusing a profile, and the job runner running
other jobs while one conversion hangs."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import pytest

from fanpin_forms.errors import Code, RenderError
from fanpin_forms.office import libreoffice
from fanpin_forms.office.libreoffice import docx_to_pdf


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False

RECORDING = '''#!{python}
import os, sys
args = sys.argv[1:]
profile = next(a.split("=", 1)[1] for a in args if a.startswith("-env:UserInstallation="))
outdir = args[args.index("--outdir") + 1]
with open({log!r}, "a") as fh:
    fh.write(profile + "\\n")
if os.environ.get("STUB_FAIL"):
    sys.exit(3)
for src in args[args.index("--outdir") + 2:]:
    with open(os.path.join(outdir, os.path.splitext(os.path.basename(src))[0] + ".pdf"), "wb") as out:
        out.write(b"%PDF-1.4 stub")
'''

#: a converter that hangs, with a child of its own (as soffice starts oosplash and soffice.bin)
HANGING = '''#!/bin/sh
sleep 300 &
echo $$ $! > {pids}
wait
'''


def script(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture(autouse=True)
def _fresh_profiles():
    libreoffice.drop_idle_profiles()
    yield
    libreoffice.drop_idle_profiles()


@pytest.fixture
def docx(tmp_path) -> Path:
    path = tmp_path / "in" / "表.docx"
    path.parent.mkdir()
    path.write_bytes(b"PK stub")
    return path


def test_a_profile_serves_n_conversions_then_a_fresh_one_replaces_it(tmp_path, docx, monkeypatch):
    log = tmp_path / "profiles.log"
    stub = script(tmp_path / "soffice", RECORDING.format(python=sys.executable, log=str(log)))
    monkeypatch.setattr(libreoffice, "RESTART_AFTER", 2)
    for _ in range(5):
        [pdf] = docx_to_pdf([docx], tmp_path / "out", soffice=stub)
        assert pdf.read_bytes() == b"%PDF-1.4 stub"
    used = log.read_text().split()
    assert used[0] == used[1] != used[2] == used[3] != used[4] and len(set(used)) == 3
    # a recycled profile is gone from the disk; the one in service is kept for the next call
    assert not Path(used[0].removeprefix("file://")).exists()
    assert Path(used[4].removeprefix("file://")).is_dir()


def test_a_failed_conversion_throws_its_profile_away(tmp_path, docx, monkeypatch):
    log = tmp_path / "profiles.log"
    stub = script(tmp_path / "soffice", RECORDING.format(python=sys.executable, log=str(log)))
    docx_to_pdf([docx], tmp_path / "out", soffice=stub)
    monkeypatch.setenv("STUB_FAIL", "1")
    with pytest.raises(RenderError) as err:
        docx_to_pdf([docx], tmp_path / "out", soffice=stub)
    assert err.value.problems[0].code is Code.RENDER_FAILED
    monkeypatch.delenv("STUB_FAIL")
    docx_to_pdf([docx], tmp_path / "out", soffice=stub)
    first, failed, after = log.read_text().split()
    assert first == failed != after
    assert not Path(failed.removeprefix("file://")).exists()


def test_a_hung_converter_is_killed_with_its_children_and_fails_in_chinese(tmp_path, docx):
    pids = tmp_path / "pids"
    stub = script(tmp_path / "soffice", HANGING.format(pids=pids))
    started = time.monotonic()
    with pytest.raises(RenderError) as err:
        docx_to_pdf([docx], tmp_path / "out", timeout=1.5, soffice=stub)
    assert time.monotonic() - started < 15
    problem = err.value.problems[0]
    assert problem.code is Code.RENDER_TIMEOUT
    assert "超时" in problem.message and "表.docx" in problem.message
    for pid in map(int, pids.read_text().split()):
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(pid), "a process of the hung converter survived"
    assert not list((tmp_path / "out").glob("*.pdf"))
    assert libreoffice._IDLE == []  # its profile was not kept


@pytest.mark.slow
def test_the_real_libreoffice_converts_twice_from_one_reused_profile(tmp_path):
    import pypdfium2 as pdfium

    source = Path(__file__).resolve().parents[1] / "templates" / "annex2.docx"
    one, two = tmp_path / "一.docx", tmp_path / "二.docx"
    one.write_bytes(source.read_bytes())
    two.write_bytes(source.read_bytes())
    [first] = docx_to_pdf([one], tmp_path / "out")
    [profile] = libreoffice._IDLE
    [second] = docx_to_pdf([two], tmp_path / "out")
    assert libreoffice._IDLE == [profile] and profile.uses == 2 and profile.path.is_dir()
    for pdf in (first, second):
        doc = pdfium.PdfDocument(str(pdf))
        assert len(doc) >= 1
        doc.close()


def test_a_hung_conversion_fails_its_job_and_holds_up_no_other(tmp_path, app, docx):
    from fanpin_forms.service import jobs
    from fanpin_forms.service.app import create_app
    from fanpin_forms.service.models import Job, session_factory

    from .service_kit import add_users, make_settings

    stub = script(tmp_path / "soffice", HANGING.format(pids=tmp_path / "pids"))

    @jobs.job_kind("test-hung-office")
    def hung(ctx):
        docx_to_pdf([docx], ctx.out_dir, timeout=6, soffice=stub)

    @jobs.job_kind("test-quick")
    def quick(ctx):
        ctx.progress(1, 1, "好了")

    web = create_app(make_settings(tmp_path / "home", job_workers=2), app)
    try:
        add_users(web)
        with session_factory(web.state.engine)() as db:
            from sqlalchemy import select

            from fanpin_forms.service.accounts import Actor, User

            clerk = Actor.of(db.scalar(select(User).where(User.name == "clerk_a")))
        runner = web.state.runner
        hung_id = runner.submit("test-hung-office", {}, clerk)
        quick_ids = [runner.submit("test-quick", {}, clerk) for _ in range(3)]

        def state(job_id: str) -> str:
            return runner.status(job_id, clerk).state

        deadline = time.monotonic() + 30
        while not all(state(q) == "done" for q in quick_ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [state(q) for q in quick_ids] == ["done"] * 3
        assert state(hung_id) == "running"  # the others finished while it hung
        while state(hung_id) == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        status = runner.status(hung_id, clerk)
        assert status.state == "failed"
        assert status.message.startswith("任务失败：LibreOffice 转换 PDF 超时")
        with session_factory(web.state.engine)() as db:
            assert db.get(Job, hung_id).finishes == 1
    finally:
        web.state.runner.shutdown()
        for kind in ("test-hung-office", "test-quick"):
            jobs.KINDS.pop(kind, None)
        os.environ.pop("STUB_FAIL", None)
