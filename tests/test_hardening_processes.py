"""Write errors, interruptions and leftovers, through the real ``fanpin`` command.

Read-only and full disks are real file systems (``mount -t tmpfs``, which needs root:
the tests run as root, where ``chmod`` would not stop a write); interruptions send
real signals to a real ``fanpin fill --merge`` with LibreOffice running.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from fanpin_forms.util.atomic import TMP_NAME, processes_using, sweep_stale, write_atomic
from fanpin_forms.errors import OS_ERRORS, Code, RenderError
from fanpin_forms.render.fill import check_name_lengths

from .conftest import make_id
from .test_render_samples import root, write_json

YEAR = 2022
TMP = Path(os.environ.get("TMPDIR", "/tmp"))
INTERRUPTED = Code.IO_INTERRUPTED.format()


def rows(n: int, village: str = "清水村") -> list[dict]:
    return [{"户编号": f"YY-{i:04d}", "户主姓名": "张三", "家庭人口": 4, "身份证号码": make_id(birth=f"{1950 + i // 1000}0101", seq=f"{i % 1000:03d}"),
             "乡镇": "新墙镇", "村": village, "组": "3组", "三保障": "①", "风险类型": "⑥"} for i in range(n)]


def invoke(app, runner, *args):
    return runner.invoke(root, [str(a) for a in args], obj=app)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.exists() else []


def complete_docx(folder: Path) -> list[Path]:
    """Every .docx in ``folder``; fails if one is not a whole document."""
    docs = sorted(folder.glob("*.docx"))
    for path in docs:
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None and "word/document.xml" in z.namelist(), path
    return docs


# --- real file systems ---------------------------------------------------------------------


@pytest.fixture
def mount(tmp_path):
    """``mount(options) -> folder``: a tmpfs mounted at a new folder, unmounted afterwards."""
    mounted: list[Path] = []

    def do(options: str) -> Path:
        where = tmp_path / f"mnt{len(mounted)}"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "fanpin-test", str(where)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root and mount rights): {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield do
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.mark.parametrize("n, workers", [(3, 1), (3, 2), (60, 1), (60, 2)])  # in-process and pool
def test_read_only_disk_is_a_chinese_error_naming_the_file(app, runner, tmp_path, mount, n, workers):
    out = mount("ro,size=1m")
    data = write_json(tmp_path / "hh.json", rows(n))
    result = invoke(app, runner, "fill", "annex2", "--data", data, "-o", out, "--year", YEAR, "-j", workers)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "AttributeError" not in result.output
    assert f"无法写入 {out}/新墙镇_清水村_张三_YY-" in result.output
    assert OS_ERRORS[errno.EROFS] in result.output and "Read-only" not in result.output
    assert not list(out.iterdir())


def test_a_folder_that_cannot_be_made_is_named(app, runner, tmp_path, mount):
    out = mount("ro,size=1m") / "第一批"
    data = write_json(tmp_path / "hh.json", rows(2))
    result = invoke(app, runner, "fill", "annex2", "--data", data, "-o", out, "--year", YEAR)
    assert result.exit_code == 1
    assert Code.IO_WRITE.format(path=out, why=OS_ERRORS[errno.EROFS]) in result.output


def test_a_file_where_a_folder_is_expected(app, runner, tmp_path):
    (tmp_path / "批次").write_text("not a folder")
    out = tmp_path / "批次" / "out"
    result = invoke(app, runner, "fill", "annex2", "--data", write_json(tmp_path / "hh.json", rows(2)), "-o", out,
                    "--year", YEAR)
    assert result.exit_code == 1
    assert Code.IO_WRITE.format(path=out, why=OS_ERRORS[errno.ENOTDIR]) in result.output


@pytest.mark.parametrize("workers", [1, 2])
def test_full_disk_leaves_complete_files_only_and_says_so(app, runner, tmp_path, mount, workers):
    out = mount("size=64k")
    data = write_json(tmp_path / "hh.json", rows(60))
    result = invoke(app, runner, "fill", "annex2", "--data", data, "-o", out, "--year", YEAR, "-j", workers)
    assert result.exit_code == 1, result.output
    assert OS_ERRORS[errno.ENOSPC] in result.output and "Traceback" not in result.output
    assert leftovers(out) == []  # no temporary file
    assert len(complete_docx(out)) < 60


def test_full_disk_under_the_merged_pdf(app, runner, tmp_path, mount):
    """pdfium writes through a C callback, where an OSError would be printed and lost."""
    full = mount("size=64k")
    (full / "ballast").write_bytes(b"x" * 40_000)
    data = write_json(tmp_path / "hh.json", rows(3))
    result = invoke(app, runner, "fill", "annex2", "--data", data, "-o", tmp_path / "out", "--year", YEAR,
                    "--merge", full / "all.pdf")
    assert result.exit_code == 1, result.output
    assert Code.IO_WRITE.format(path=full / "all.pdf", why=OS_ERRORS[errno.ENOSPC]) in result.output
    assert sorted(p.name for p in full.iterdir()) == ["ballast"]


def test_temporary_names_are_short_whatever_the_final_name(tmp_path):
    name = "村" * 83 + ".docx"  # 254 bytes: fits, but not with a suffix added
    write_atomic(tmp_path / name, b"data")
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_name_over_the_limit_is_refused_before_anything_is_written(tmp_path):
    names = ["短.docx", "村" * 90 + ".docx"]
    with pytest.raises(RenderError) as exc:
        check_name_lengths(tmp_path / "out", names)
    assert exc.value.problems[0].code == Code.IO_NAME_TOO_LONG
    assert "275 字节" in str(exc.value) and "最多 255 字节" in str(exc.value)
    assert not (tmp_path / "out").exists()


def test_a_hundred_character_village_is_all_or_nothing(app, runner, tmp_path):
    data = write_json(tmp_path / "hh.json", rows(5, village="长" * 100))
    out = tmp_path / "out"
    result = invoke(app, runner, "fill", "annex2", "--data", data, "-o", out, "--year", YEAR, "-j", 1)
    assert "Traceback" not in result.output
    if result.exit_code == 0:  # names shortened to fit
        docs = complete_docx(out)
        assert len(docs) == 5 and all(len(os.fsencode(p.name)) <= 255 for p in docs)
    else:
        assert "文件名太长" in result.output and "未生成任何文件" in result.output
        assert not out.exists() or not list(out.iterdir())
    assert leftovers(out) == []


def test_an_earlier_runs_files_are_announced(app, runner, tmp_path):
    data = write_json(tmp_path / "hh.json", rows(3))
    out = tmp_path / "out"
    assert invoke(app, runner, "fill", "annex2", "--data", data, "-o", out, "--year", YEAR).exit_code == 0
    (out / "旧批次.docx").write_bytes(b"old")
    first = {p.name: p.stat().st_ino for p in out.glob("新墙镇*.docx")}
    result = invoke(app, runner, "fill", "annex2", "--data", data, "-o", out, "--year", YEAR)
    assert result.exit_code == 0, result.output
    expected = Code.IO_EXISTING_FILES.format(folder=out, total=4, replaced=3, unrelated=1)
    assert "提示：" + expected in result.stderr
    second = {p.name: p.stat().st_ino for p in out.glob("新墙镇*.docx")}
    assert second.keys() == first.keys() and all(second[k] != first[k] for k in first)  # replaced by rename
    assert (out / "旧批次.docx").read_bytes() == b"old"


def test_parse_checks_the_review_folder_before_reading(app, runner, tmp_path, mount):
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"\x89PNG\r\n\x1a\n")  # never read: the check comes first
    review = mount("ro,size=1m") / "review"
    out = tmp_path / "rec.jsonl"
    result = invoke(app, runner, "parse", scan, "-o", out, "--review", review)
    assert result.exit_code == 1
    assert result.output.strip().endswith(Code.IO_WRITE.format(path=review, why=OS_ERRORS[errno.EROFS]))
    assert "正在读取" not in result.output and not out.exists()


def test_parse_checks_the_records_folder_before_reading(app, runner, tmp_path, mount):
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"\x89PNG\r\n\x1a\n")
    ro = mount("ro,size=1m")
    result = invoke(app, runner, "parse", scan, "-o", ro / "rec.jsonl")
    assert result.exit_code == 1
    assert Code.IO_WRITE.format(path=ro, why=OS_ERRORS[errno.EROFS]) in result.output


def test_a_dead_runs_temporary_files_are_swept(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".fanpin-{dead.pid}-abcdef-Ab3_xY9z.tmp"
    mine = tmp_path / f".fanpin-{os.getpid()}-abcdef-Ab3_xY9z.tmp"
    other = tmp_path / ".fanpin-notes.tmp"
    for path in (stale, mine, other):
        path.write_bytes(b"half")
    assert TMP_NAME.fullmatch(stale.name)
    sweep_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, other.name])


# --- interrupting a real run ------------------------------------------------------------------


def start_fanpin(*args: object, cwd: Path) -> subprocess.Popen:
    """``fanpin …`` in its own session, as a terminal would run it in its own group."""
    return subprocess.Popen([sys.executable, "-m", "fanpin_forms", *map(str, args)], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def profile_marker(pid: int) -> str:
    return str(TMP / f"fanpin-soffice-profile-{pid}-")


def private_leftovers(pid: int) -> list[str]:
    return sorted(p.name for p in TMP.glob(f"fanpin-*-{pid}-*"))


def converting_merge(tmp_path: Path, n: int = 120) -> tuple[subprocess.Popen, Path]:
    data = write_json(tmp_path / "hh.json", rows(n))
    out = tmp_path / "out"
    proc = start_fanpin("fill", "annex2", "--data", data, "-o", out, "--year", YEAR, "--merge", out / "all.pdf",
                        "-j", 2, cwd=tmp_path)
    wait_for(lambda: processes_using(profile_marker(proc.pid)) or proc.poll() is not None, 120, "LibreOffice")
    assert proc.poll() is None, proc.communicate()
    return proc, out


@pytest.mark.parametrize("sig, to_group", [(signal.SIGINT, True), (signal.SIGTERM, False), (signal.SIGHUP, True)],
                         ids=["ctrl-c", "kill", "terminal-closed"])
def test_interrupting_fill_merge_cleans_up_everything(tmp_path, sig, to_group):
    proc, out = converting_merge(tmp_path)
    time.sleep(0.5)
    (os.killpg if to_group else os.kill)(proc.pid, sig)
    _stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, stderr
    assert stderr.rstrip().endswith(INTERRUPTED) and "Traceback" not in stderr and "Aborted" not in stderr
    wait_for(lambda: not processes_using(profile_marker(proc.pid)), 3, "LibreOffice to end")
    assert private_leftovers(proc.pid) == []
    assert leftovers(out) == [] and not (out / "all.pdf").exists()


def test_interrupting_the_pool_ends_its_workers(tmp_path):
    data = write_json(tmp_path / "hh.json", rows(3000))
    out = tmp_path / "out"
    proc = start_fanpin("fill", "annex2", "--data", data, "-o", out, "--year", YEAR, "-j", 2, cwd=tmp_path)
    # a batch is staged as hidden temporary files and moved into place only when complete
    wait_for(lambda: bool(leftovers(out)) or proc.poll() is not None, 120, "the first staged form")
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the workers too
    _stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert stderr.rstrip().endswith(INTERRUPTED) and "Traceback" not in stderr
    wait_for(lambda: not processes_using(str(data)), 5, "the pool workers to end")
    assert leftovers(out) == []
    assert complete_docx(out) == []  # all or nothing: an interrupted batch leaves no form


def test_after_kill_9_the_next_run_sweeps(tmp_path):
    proc, out = converting_merge(tmp_path)
    marker = profile_marker(proc.pid)
    proc.kill()  # cannot be caught: LibreOffice and the working folders stay behind
    proc.communicate(timeout=10)
    assert processes_using(marker) and private_leftovers(proc.pid)
    nxt = start_fanpin("forms", cwd=tmp_path)
    nxt.communicate(timeout=60)
    assert nxt.returncode == 0
    wait_for(lambda: not processes_using(marker), 3, "the orphaned LibreOffice to be killed")
    assert private_leftovers(proc.pid) == []
