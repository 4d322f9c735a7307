"""Writing files so that nobody ever sees half of one.

Every output (filled forms, PDFs, records, review pages, error reports) is written to
a temporary file in the same folder and renamed into place with ``os.replace``; a
crash, a full disk or Ctrl-C leaves the old file (or none), never a broken one.
Temporary names end in :data:`TMP_MARK` plus an optional batch token, so a batch can
sweep up what a killed worker left behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import Code, RenderError

TMP_MARK = ".fanpin-tmp"


def _write_bytes(fh: BinaryIO, data: bytes) -> None:
    fh.write(data)


@contextlib.contextmanager
def atomic_open(path: Path | str, *, token: str = "") -> Iterator[BinaryIO]:
    """A binary file handle whose content appears at ``path`` only when the block ends
    without an error. An OSError becomes the catalogue's IO_WRITE (RenderError)."""
    path = Path(path)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:80]}.", suffix=f"{TMP_MARK}{token}", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual mode
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise RenderError.of(Code.IO_WRITE, path=str(path), why=exc.strerror or exc) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_atomic(path: Path | str, data: bytes, *, token: str = "") -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, token=token) as fh:
        _write_bytes(fh, data)


def sweep_temp(folder: Path | str, token: str) -> None:
    """Remove temporary files a killed worker of batch ``token`` may have left."""
    for leftover in Path(folder).glob(f".*{TMP_MARK}{token}"):
        with contextlib.suppress(OSError):
            leftover.unlink()


_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK
