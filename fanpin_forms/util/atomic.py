"""Writing files so that nobody ever sees half of one, and explaining why a write failed.

Every output (filled forms, PDFs, records, review pages, error reports) is written to
a temporary file in the same folder and renamed into place with ``os.replace``; a
crash, a full disk or Ctrl-C leaves the old file (or none), never a broken one.

Temporary names are short and of fixed length, ``.fanpin-<pid>-<batch>-<random>.tmp``,
whatever the final name: a final name that fits the file system's limit (255 bytes
on ext4, exFAT, NTFS; a CJK character is 3 bytes) never fails because of its
temporary one. ``<pid>`` is the process that owns the batch, so what a process
killed with ``kill -9`` left behind is recognised (its owner is gone) and swept by
the next run (:func:`sweep_stale`, :func:`sweep_private`); ``<batch>`` lets a batch sweep what its own
killed workers left (:func:`sweep_temp`). Working folders (:func:`private_dir`)
carry the owner's pid the same way.

Every OS error while writing becomes :data:`~fanpin_forms.errors.Code.IO_WRITE`
naming the file or folder, with the cause explained in Chinese from one table
(:data:`~fanpin_forms.errors.OS_ERRORS`), for every writer.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import Code, FanpinError, RenderError, os_error_text

TMP_PREFIX = ".fanpin-"
TMP_SUFFIX = ".tmp"
#: what the name limit is taken to be where the file system does not say
NAME_MAX_DEFAULT = 255
_PROBE_BYTES = 4096

def write_error(exc: OSError, path: Path | str, *, error: type[FanpinError] = RenderError) -> FanpinError:
    """The catalogue error for failing to write ``path``."""
    return error.of(Code.IO_WRITE, path=str(path), why=os_error_text(exc))


def ensure_dir(path: Path | str, *, error: type[FanpinError] = RenderError) -> Path:
    """Create the folder ``path`` (and its parents) if needed, or raise IO_WRITE naming it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, path, error=error) from None
    return path


def check_writable(folder: Path | str, *, error: type[FanpinError] = RenderError) -> Path:
    """Make sure files can be written into ``folder`` now, before a long job starts.

    Creates the folder and writes and removes a small probe file, which catches a
    read-only stick, missing rights and a full disk (as root, ``os.access`` would
    say yes to all but the first)."""
    folder = ensure_dir(folder, error=error)
    with _temp_file(folder, new_token(), folder, error) as temp:
        temp.fh.write(b"\0" * _PROBE_BYTES)
        temp.finish()
    return folder


def name_limit(folder: Path | str) -> int:
    """The longest file name in bytes the file system under ``folder`` takes.

    Asks the nearest folder that exists (``folder`` itself may not yet)."""
    here = Path(folder).absolute()
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        return int(os.pathconf(here, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return NAME_MAX_DEFAULT


def name_bytes(name: str) -> int:
    """Length of ``name`` as the file system counts it."""
    return len(os.fsencode(name))


def new_token() -> str:
    """A batch token: the owning process and a random part."""
    return f"{os.getpid()}-{secrets.token_hex(3)}"


_DEFAULT_TOKEN: dict[int, str] = {}


def _default_token() -> str:
    pid = os.getpid()  # per process: a forked worker must not reuse its parent's
    if pid not in _DEFAULT_TOKEN:
        _DEFAULT_TOKEN[pid] = new_token()
    return _DEFAULT_TOKEN[pid]


def _write_bytes(fh: BinaryIO, data: bytes) -> None:
    fh.write(data)


class _Temp:
    """A temporary file being written: ``fh`` open for writing, ``path`` its name;
    removed when its block ends unless ``kept`` is set."""

    def __init__(self, path: Path, fh: BinaryIO):
        self.path, self.fh, self.kept = path, fh, False

    def finish(self) -> None:
        """Close the file and give it the usual mode (mkstemp creates 0600)."""
        self.fh.close()
        os.chmod(self.path, 0o666 & ~_umask())


@contextlib.contextmanager
def _temp_file(folder: Path | str, token: str, target: Path | str, error: type[FanpinError]) -> Iterator[_Temp]:
    """A new temporary file of batch ``token`` in ``folder``, for ``target``. Any OSError
    in the block becomes IO_WRITE naming ``target``; the file is removed unless the
    block sets ``kept``."""
    temp: _Temp | None = None
    try:
        fd, name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{token}-", suffix=TMP_SUFFIX, dir=folder)
        temp = _Temp(Path(name), os.fdopen(fd, "wb"))
        yield temp
    except OSError as exc:
        raise write_error(exc, target, error=error) from exc
    finally:
        if temp is not None and not temp.kept:
            with contextlib.suppress(OSError):
                temp.fh.close()
            with contextlib.suppress(OSError):
                os.unlink(temp.path)


@contextlib.contextmanager
def atomic_open(path: Path | str, *, token: str = "", error: type[FanpinError] = RenderError
                ) -> Iterator[BinaryIO]:
    """A binary file handle whose content appears at ``path`` only when the block ends
    without an error. An OSError becomes the catalogue's IO_WRITE naming ``path``.

    ``token`` (from :func:`new_token`) groups the temporary files of one batch."""
    path = Path(path)
    with _temp_file(path.parent, token or _default_token(), path, error) as temp:
        yield temp.fh
        temp.finish()
        os.replace(temp.path, path)
        temp.kept = True


def write_atomic(path: Path | str, data: bytes, *, token: str = "", error: type[FanpinError] = RenderError
                 ) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, token=token, error=error) as fh:
        _write_bytes(fh, data)


def write_staged(path: Path | str, data: bytes, *, token: str, error: type[FanpinError] = RenderError) -> Path:
    """Write ``data`` to a temporary file of batch ``token`` beside ``path`` and return it;
    nothing appears at ``path`` until :func:`commit_staged`.

    A batch stages every file first and commits them together, so a failure half-way
    (a template limit at household 50, a full disk) leaves the folder as it was: the
    batch's temporary files are swept and earlier files are untouched."""
    path = Path(path)
    with _temp_file(path.parent, token, path, error) as temp:
        _write_bytes(temp.fh, data)
        temp.finish()
        temp.kept = True
    return temp.path


def commit_staged(staged: Iterable[tuple[Path, Path]], *, error: type[FanpinError] = RenderError) -> None:
    """Move every (temporary file, final path) of a batch into place."""
    for tmp, path in staged:
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise write_error(exc, path, error=error) from exc


def sweep_temp(folder: Path | str, token: str) -> None:
    """Remove temporary files a killed worker of batch ``token`` may have left."""
    for leftover in Path(folder).glob(f"{TMP_PREFIX}{token}-*{TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            leftover.unlink()


# --- what a killed process left behind -------------------------------------------------

_RAND = r"[A-Za-z0-9_]{8}"  # what mkstemp/mkdtemp add
#: names this module gives; ``pid`` is the owner
TMP_NAME = re.compile(rf"\.fanpin-(?P<pid>\d+)-[0-9a-f]{{6}}-{_RAND}\.tmp")
PRIVATE_NAME = re.compile(rf"fanpin-(?P<kind>[a-z]+(?:-[a-z]+)*)-(?P<pid>\d+)-{_RAND}")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def private_dir(kind: str) -> Path:
    """A new working folder ``fanpin-<kind>-<pid>-<random>`` in the system's temp folder.

    Mode 0700 (``mkdtemp``): only this user can look inside, which matters because
    working files hold whole households' records. The temp folder is ``TMPDIR`` when
    set (a big merge needs room there for its parts)."""
    try:
        return Path(tempfile.mkdtemp(prefix=f"fanpin-{kind}-{os.getpid()}-"))
    except OSError as exc:
        raise write_error(exc, tempfile.gettempdir()) from None


def stale_entries(folder: Path | str, pattern: re.Pattern[str]) -> list[Path]:
    """Entries of ``folder`` whose whole name matches ``pattern`` and whose owner (the
    ``pid`` group) is gone; a pattern without a ``pid`` group matches leftovers whose
    owner cannot be known (names given by older versions)."""
    out: list[Path] = []
    with contextlib.suppress(OSError):
        for entry in Path(folder).iterdir():
            m = pattern.fullmatch(entry.name)
            if m is None or entry.is_symlink():
                continue
            pid = int(m.group("pid")) if "pid" in pattern.groupindex else None
            if pid is None or (pid != os.getpid() and not pid_alive(pid)):
                out.append(entry)
    return out


def remove(entry: Path) -> None:
    """Delete a file or folder left behind, quietly (it may be gone already)."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            entry.unlink()


def sweep_stale(folder: Path | str) -> None:
    """Remove temporary files in ``folder`` whose owning process is gone (``kill -9``, power loss)."""
    for entry in stale_entries(folder, TMP_NAME):
        if entry.is_file():
            remove(entry)


def sweep_private(kind: str | None = None) -> None:
    """Remove private working folders (of ``kind``, or of every kind) whose owner is gone.

    A process still running with such a folder on its command line (LibreOffice
    started with a dead owner's profile keeps converting for up to a minute) is
    killed first: it belongs to nobody and would write into the folder."""
    for entry in stale_entries(tempfile.gettempdir(), PRIVATE_NAME):
        if not entry.is_dir() or (kind is not None and PRIVATE_NAME.fullmatch(entry.name)["kind"] != kind):
            continue
        _kill_users(str(entry))
        remove(entry)


def _kill_users(marker: str) -> None:
    """Kill every process using ``marker``: whole process groups where the group's
    leader uses it too (LibreOffice's ``oosplash`` restarts a killed ``soffice.bin``)."""
    pids = processes_using(marker)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            pgid = os.getpgid(pid)
            if pgid in pids and pgid != os.getpgrp():
                os.killpg(pgid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)


def processes_using(marker: str) -> list[int]:
    """Pids whose command line contains ``marker`` (Linux ``/proc``; elsewhere none)."""
    found = []
    needle = marker.encode()
    for entry in glob.glob("/proc/[0-9]*/cmdline"):
        with contextlib.suppress(OSError, ValueError):
            with open(entry, "rb") as fh:
                if needle in fh.read():
                    found.append(int(entry.split("/")[2]))
    return [pid for pid in found if pid != os.getpid()]


_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK
