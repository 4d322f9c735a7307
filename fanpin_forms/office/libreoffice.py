"""DOCX -> PDF through a real headless LibreOffice, plus PDF merging.

Library module: no Click here; failures are :class:`~fanpin_forms.errors.RenderError`
carrying catalogue codes, which ``cli/base.py`` turns into user messages.

Design points (measured on LibreOffice 7.4, Debian 12):

* **One soffice process per batch.** Starting LibreOffice (fresh profile)
  costs ~1.2 s; each further one-page DOCX in the same call ~130 ms; each further
  page inside one DOCX only ~20-25 ms (2-core VM). :func:`docx_to_pdf` therefore
  takes many files and passes them all to a single ``soffice --convert-to`` call;
  callers that can put many forms into one DOCX gain another 4-5x.
* **Private profiles, recycled every N conversions** (``-env:UserInstallation=file://<tmpdir>``):
  a second soffice sharing a profile does not convert anything, it forwards the
  request to the first instance (or silently exits if the profile is locked).
  So a profile is only ever used by one call at a time: each call takes an idle
  one of this process (or makes one), and gives it back when it ends. Like
  Gotenberg, which restarts its LibreOffice after ``LIBREOFFICE_RESTART_AFTER``
  conversions, a profile serves :data:`RESTART_AFTER`
  (``util/limits.OFFICE_RESTART_AFTER``) calls and is then thrown away for a fresh
  one; one whose call failed or timed out (a hung LibreOffice may leave it
  half-written) is thrown away at once. The soffice process itself never
  outlives its call, so a hung or leaking one is gone with its batch.
* **A hung LibreOffice** is killed, with its whole group, when the call's timeout
  runs out (:func:`default_timeout`), and the call fails with ``RENDER_TIMEOUT``
  (Chinese, naming the files); nothing else waits for it: every call has its own
  process and profile.
* **Fonts.** ``FONTCONFIG_FILE`` points at :data:`FONTS_CONF` in the child's
  environment only, mapping 宋体/仿宋_GB2312/方正小标宋简体/... to Noto Serif CJK SC
  and 黑体/微软雅黑 to Noto Sans CJK SC. Without it LibreOffice falls back to a
  sans CJK face (and DejaVu Sans for digits). PDF export embeds subsets of all
  fonts used.
* **Own process group.** soffice is a shell script that starts ``oosplash``,
  which starts ``soffice.bin``; killing only the direct child would leave the
  real worker running. The child is started in a new session and, on timeout or
  interruption, the whole group is killed.
* **Atomic outputs.** LibreOffice writes into a staging directory inside
  ``outdir`` and each finished PDF is moved into place with :func:`os.replace`,
  so ``outdir`` never holds half-written PDFs or stale files that could be
  mistaken for fresh output.
* **Nothing left running.** Every soffice group still running is known
  (:func:`kill_running` ends them all, e.g. when the user interrupts a batch that
  converts in several threads). A ``kill -9`` of our own process cannot be caught:
  the profile and staging folders carry our pid in their names, and
  :func:`sweep_leftovers` (run at every start of the CLI and before every
  conversion) kills an orphaned soffice still using a dead owner's profile and
  removes the folders.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from ..util.atomic import atomic_open, ensure_dir, private_dir, remove, stale_entries, sweep_private, write_error
from ..util.limits import OFFICE_RESTART_AFTER
from ..errors import Code, RenderError, os_error_text

#: calls one private profile serves before it is replaced by a fresh one (read at each call)
RESTART_AFTER = OFFICE_RESTART_AFTER

#: fontconfig file applied (via ``FONTCONFIG_FILE``) to our soffice processes only.
FONTS_CONF = Path(__file__).with_name("fonts.conf")

#: Where to look when neither ``soffice`` nor ``libreoffice`` is on PATH (globs).
FALLBACK_LOCATIONS: tuple[str, ...] = (
    "/usr/lib/libreoffice/program/soffice",
    "/opt/libreoffice*/program/soffice",
)

#: What to tell a user who has no LibreOffice.
SETUP_COMMAND = "bash scripts/setup.sh（或 make demo）"

#: Default timeout: fixed start-up allowance plus a per-file allowance.
TIMEOUT_BASE_SECONDS = 60.0
TIMEOUT_PER_FILE_SECONDS = 2.0

#: the private profile's kind of folder (:func:`~fanpin_forms.util.atomic.private_dir`)
PROFILE_KIND = "soffice-profile"
STAGING_PREFIX = ".fanpin-soffice-"
_STAGING_NAME = re.compile(r"\.fanpin-soffice-(?P<pid>\d+)-[A-Za-z0-9_]{8}")

_STDERR_TAIL_CHARS = 1500
_FILES_IN_MESSAGE = 10

# Noise LibreOffice prints on every run when no Java is installed.
_STDERR_NOISE = ("failed to launch javaldx",)


def find_soffice() -> str:
    """Return the path of the LibreOffice ``soffice`` executable.

    Looks on ``PATH`` for ``soffice`` and ``libreoffice``, then at
    :data:`FALLBACK_LOCATIONS` (the Debian package and the upstream ``.deb``/``.rpm``
    builds in ``/opt/libreoffice*/program/soffice``). Raises
    :class:`RenderError` (``RENDER_NO_LIBREOFFICE``) if none exists.
    """
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for pattern in FALLBACK_LOCATIONS:
        # newest /opt/libreofficeX.Y first
        for candidate in sorted(glob.glob(pattern), reverse=True):
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    raise RenderError.of(Code.RENDER_NO_LIBREOFFICE, setup=SETUP_COMMAND)


def default_timeout(n_files: int) -> float:
    """Timeout in seconds for converting ``n_files`` files in one soffice call."""
    return TIMEOUT_BASE_SECONDS + TIMEOUT_PER_FILE_SECONDS * max(n_files, 0)


def docx_to_pdf(
    inputs: Sequence[Path],
    outdir: Path,
    *,
    timeout: float | None = None,
    soffice: str | None = None,
) -> list[Path]:
    """Convert DOCX (or any Writer-readable) files to PDF with ONE soffice call.

    Returns the PDF paths in the order of ``inputs``: ``outdir / (stem + ".pdf")``.
    Existing files of those names are replaced. ``timeout`` defaults to
    :func:`default_timeout` for the number of inputs; when one input holds many
    forms (one DOCX with N pages), pass a timeout that scales with N instead.
    ``soffice`` is the converter to run (default: :func:`find_soffice`).

    All or nothing: if any input fails, no PDF of this call is moved into
    ``outdir`` (LibreOffice writes to a staging directory first).

    Raises :class:`RenderError` with

    * ``RENDER_INPUT_MISSING`` if an input does not exist;
    * ``RENDER_DUPLICATE_NAME`` if two inputs would produce the same PDF name;
    * ``RENDER_NO_LIBREOFFICE`` if soffice is not installed;
    * ``RENDER_TIMEOUT`` if soffice does not finish in time (the whole process
      group is killed, nothing is written to ``outdir``);
    * ``RENDER_FAILED`` if soffice exits non-zero or a PDF is missing;
    * ``IO_WRITE`` if ``outdir`` cannot be created or written.
    """
    sources = [Path(p).absolute() for p in inputs]
    if not sources:
        return []
    for src in sources:
        if not src.is_file():
            raise RenderError.of(Code.RENDER_INPUT_MISSING, path=str(src))
    by_name: dict[str, list[Path]] = {}
    for src in sources:
        by_name.setdefault(src.stem + ".pdf", []).append(src)
    for name, group in by_name.items():
        if len(group) > 1:
            raise RenderError.of(
                Code.RENDER_DUPLICATE_NAME, name=name, files=_names(group)
            )

    soffice = soffice or find_soffice()
    outdir = Path(outdir).absolute()
    if timeout is None:
        timeout = default_timeout(len(sources))

    ensure_dir(outdir)
    sweep_leftovers(outdir)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=outdir))
    except OSError as exc:
        raise write_error(exc, outdir) from exc
    profile: _Profile | None = None
    converted = False
    try:
        profile = _take_profile()
        cmd = [
            soffice,
            f"-env:UserInstallation={profile.path.as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--nodefault",
            "--norestore",
            "--nolockcheck",
            "--nofirststartwizard",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(staging),
            *map(str, sources),
        ]
        returncode, stderr = _run_in_own_group(cmd, _child_env(), timeout, sources)

        produced = [staging / (src.stem + ".pdf") for src in sources]
        missing = [src for src, made in zip(sources, produced) if not _nonempty(made)]
        if returncode != 0 or missing:
            why = (
                f"退出码 {returncode}"
                if returncode != 0
                else f"{len(missing)} 个文件没有生成 PDF（文件可能已损坏或不是 Word 文档）"
            )
            raise RenderError.of(
                Code.RENDER_FAILED,
                why=why,
                files=_names(missing or sources),
                stderr=_tail(stderr) or "（无）",
            )

        results: list[Path] = []
        for made in produced:
            final = outdir / made.name
            try:
                os.replace(made, final)
            except OSError as exc:
                raise write_error(exc, final) from exc
            results.append(final)
        converted = True
        return results
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if profile is not None:
            _give_back(profile, converted)


def merge_pdfs(pdfs: Sequence[Path], out: Path) -> Path:
    """Concatenate the pages of ``pdfs`` in order into ``out`` (written atomically).

    Raises :class:`RenderError` ``RENDER_PDF_UNREADABLE`` for an unreadable input
    and ``IO_WRITE`` if ``out`` cannot be written. ``out`` may be one of the inputs.
    """
    import pypdfium2 as pdfium

    out = Path(out)
    sources: list = []
    merged = pdfium.PdfDocument.new()
    try:
        for pdf in pdfs:
            try:
                src = pdfium.PdfDocument(str(pdf))
            except (pdfium.PdfiumError, OSError) as exc:
                raise RenderError.of(
                    Code.RENDER_PDF_UNREADABLE, path=str(pdf), why=exc
                ) from exc
            sources.append(src)  # keep open until the merged file is saved
            merged.import_pages(src)
        ensure_dir(out.parent)
        try:
            with atomic_open(out) as fh:
                sink = _Sink(fh)
                merged.save(sink)
                sink.check()
        except pdfium.PdfiumError as exc:
            raise RenderError.of(Code.IO_WRITE, path=str(out), why=f"PDF 保存失败（{exc}）") from exc
        return out
    finally:
        merged.close()
        for src in sources:
            src.close()


def page_count(pdf: Path) -> int:
    """Number of pages of ``pdf``; ``RENDER_PDF_UNREADABLE`` if it cannot be read."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(pdf))
    except (pdfium.PdfiumError, OSError) as exc:
        raise RenderError.of(Code.RENDER_PDF_UNREADABLE, path=str(pdf), why=exc) from exc
    try:
        return len(doc)
    finally:
        doc.close()


def kill_running() -> None:
    """Kill every soffice group this process still has running (all threads)."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for proc in running:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def sweep_leftovers(outdir: Path | None = None) -> None:
    """Clean up after runs killed with ``kill -9``: their soffice processes and folders.

    A profile folder whose owner (the pid in its name) is gone is removed after
    killing any process still running with it; with ``outdir``, so are the
    staging folders such runs left there."""
    sweep_private(PROFILE_KIND)
    if outdir is not None:
        for staging in stale_entries(outdir, _STAGING_NAME):
            remove(staging)


def drop_idle_profiles() -> None:
    """Remove this process's idle profiles (at exit; a test starting afresh)."""
    with _IDLE_LOCK:
        idle, _IDLE[:] = list(_IDLE), []
    for profile in idle:
        if profile.pid == os.getpid():
            shutil.rmtree(profile.path, ignore_errors=True)


# --- internals ---------------------------------------------------------------


class _Profile:
    """A private LibreOffice profile and how many calls it has served."""

    def __init__(self) -> None:
        self.path = private_dir(PROFILE_KIND)
        self.pid = os.getpid()
        self.uses = 0


_IDLE: list[_Profile] = []
_IDLE_LOCK = threading.Lock()
atexit.register(drop_idle_profiles)


def _take_profile() -> _Profile:
    """An idle profile of this process (never one a forked child inherited), or a new one."""
    with _IDLE_LOCK:
        while _IDLE:
            profile = _IDLE.pop()
            if profile.pid == os.getpid() and profile.path.is_dir():
                return profile
    return _Profile()


def _give_back(profile: _Profile, converted: bool) -> None:
    """Keep the profile for the next call, unless its call failed or it has served
    :data:`RESTART_AFTER` calls: then it is removed (the next call starts afresh)."""
    profile.uses += 1
    if converted and profile.uses < max(1, RESTART_AFTER):
        with _IDLE_LOCK:
            _IDLE.append(profile)
        return
    shutil.rmtree(profile.path, ignore_errors=True)


_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()


class _Sink:
    """A file for pdfium's writer callback that keeps the OSError a write raised.

    pdfium calls ``write`` from C, where an exception is printed and lost; the error
    is kept, later writes are dropped, and :meth:`check` raises it once saving ends."""

    def __init__(self, fh) -> None:
        self.fh = fh
        self.error: OSError | None = None

    def write(self, data) -> int:
        if self.error is None:
            try:
                self.fh.write(data)
            except OSError as exc:
                self.error = exc
        return len(data)

    def check(self) -> None:
        if self.error is not None:
            raise self.error


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["FONTCONFIG_FILE"] = str(FONTS_CONF)
    env.pop("FONTCONFIG_PATH", None)
    # Make sure non-ASCII file names (张三.docx) reach LibreOffice as UTF-8 even
    # when the caller runs under a non-UTF-8 locale (cron, systemd with LANG=C).
    # C.UTF-8 exists on every current Debian/Ubuntu. (Python's own C-locale
    # coercion usually does this already; this is belt and braces.)
    if "UTF-8" not in _effective_locale(env).upper().replace("UTF8", "UTF-8"):
        env["LC_ALL"] = "C.UTF-8"
    # Never talk to a desktop session or an already running instance.
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env["SAL_USE_VCLPLUGIN"] = "svp"
    return env


def _effective_locale(env: dict[str, str]) -> str:
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        if env.get(var):
            return env[var]
    return "C"


def _run_in_own_group(
    cmd: list[str], env: dict[str, str], timeout: float, sources: Sequence[Path]
) -> tuple[int, str]:
    """Run ``cmd`` in a new session; kill the whole group on timeout/interrupt."""
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:  # e.g. found but not executable
        raise RenderError.of(
            Code.RENDER_FAILED,
            why=f"无法启动 {cmd[0]}：{os_error_text(exc)}",
            files=_names(sources),
            stderr="（无）",
        ) from exc
    with _RUNNING_LOCK:
        _RUNNING.add(proc)
    try:
        _stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise RenderError.of(
            Code.RENDER_TIMEOUT,
            seconds=_fmt_seconds(timeout),
            files=_names(sources),
        ) from None
    except BaseException:  # KeyboardInterrupt etc.: leave nothing behind
        _kill_group(proc)
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(proc)
    return proc.returncode, stderr.decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen) -> None:
    # proc.pid is the group id (start_new_session); the leader is not reaped
    # yet, so the id cannot have been reused by an unrelated group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    # SIGKILL reaches every member at once; reap the leader and drain the pipes
    # (EOF arrives once the last member holding them is gone).
    with contextlib.suppress(Exception):
        proc.communicate(timeout=10)


def _nonempty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _names(paths: Sequence[Path]) -> str:
    names = [p.name for p in paths]
    if len(names) > _FILES_IN_MESSAGE:
        rest = len(names) - _FILES_IN_MESSAGE
        return "、".join(names[:_FILES_IN_MESSAGE]) + f" 等 {len(names)} 个（另有 {rest} 个未列出）"
    return "、".join(names)


def _tail(stderr: str) -> str:
    lines = [
        line
        for line in stderr.splitlines()
        if line.strip() and not any(noise in line for noise in _STDERR_NOISE)
    ]
    text = "\n".join(lines)
    if len(text) > _STDERR_TAIL_CHARS:
        text = "…" + text[-_STDERR_TAIL_CHARS:]
    return text


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds:g}" if seconds >= 1 else f"{seconds:.2g}"
