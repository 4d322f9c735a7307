"""The files of a notice run: laid out, searched once more for private data, written all or nothing."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from ...errors import Code, FanpinError, Location, Problem
from ...privacy.leakguard import KIND_LABELS, find_leaks
from ...util.atomic import atomic_open, ensure_dir
from .docx import county_docx, village_docx
from .html import county_html
from .select import Selection


def render_village(selection: Selection) -> dict[str, bytes]:
    """File name → bytes for every village publicity of a selection."""
    files: dict[str, bytes] = {}
    for n in selection.notices:
        name = f"{n.file_stem}.docx"
        i = 2
        while name in files:  # two villages whose names clean up the same
            name, i = f"{n.file_stem}_{i}.docx", i + 1
        files[name] = village_docx(n)
    return files


def render_county(selection: Selection) -> dict[str, bytes]:
    """File name → bytes: the county announcement as DOCX and HTML."""
    files: dict[str, bytes] = {}
    for n in selection.notices:
        files[f"{n.file_stem}.docx"] = county_docx(n)
        files[f"{n.file_stem}.html"] = county_html(n).encode("utf-8")
    return files


def write_files(files: dict[str, bytes], out_dir: Path, secrets: Iterable[tuple[str, str]], what: str) -> list[Path]:
    """Check every output for private data, then write them all, or nothing.

    Each file goes to a temporary name in ``out_dir`` and is flushed to disk; only
    when all of them are complete are they renamed into place, so a full disk or a
    read-only folder leaves an earlier notice of the same name as it was."""
    leaks = find_leaks(files, list(secrets))
    if leaks:
        raise FanpinError([Problem(Code.NOTICE_SENSITIVE, {"what": what, "kind": KIND_LABELS.get(kind, kind),
                                                           "where": where}, Location()) for where, kind in leaks])
    ensure_dir(out_dir, error=FanpinError)
    paths = [out_dir / name for name in files]
    with contextlib.ExitStack() as stack:
        handles = [stack.enter_context(atomic_open(path)) for path in paths]
        for fh, blob in zip(handles, files.values()):
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
    return paths
