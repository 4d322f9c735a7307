"""Filling a batch: one form per record, in a process pool when the batch is big, all or nothing.

Each worker keeps one :class:`~.compiled.CompiledTemplate` (inherited when the pool
forks, compiled again from the template's bytes otherwise: see
:mod:`fanpin_forms.util.parallel` for the start method and the signals). Every form
is staged under a temporary name and the batch is moved into place only when every
form has been filled; an error, Ctrl-C or a dead worker stops the pool at once and
leaves no partial ``.docx`` and no temporary file.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from pathlib import Path
from typing import Any

from ..errors import Code, FanpinError, Problem, RenderError
from ..forms.model import FormSpec
from ..util.atomic import (
    commit_staged, ensure_dir, name_bytes, name_limit, new_token, sweep_stale, sweep_temp, write_staged,
)
from ..util.parallel import pool_context, start_pool, stopped_on_failure, worker_state
from .compiled import CompiledTemplate, make_env

#: batches smaller than this are written in-process (a pool costs ~0.1 s to start)
POOL_THRESHOLD = 48
CHUNK = 16
IN_FLIGHT = 3  # chunks queued per worker: keeps both cores busy without holding the whole batch
#: what a forkserver imports once for every fill worker
PRELOAD = ("fanpin_forms.render.fill",)


def _init_worker(template_bytes: bytes | None, label: str, token: str) -> None:
    state = worker_state()
    if template_bytes is not None:  # forkserver/spawn: compile again; fork: inherited from the parent
        state["template"] = CompiledTemplate(template_bytes, label=label)
    state["token"] = token


class _PoolFailure(Exception):
    """A FanpinError crossing the process boundary (FanpinError itself does not pickle)."""

    def __init__(self, problems):
        super().__init__(problems)
        self.problems = problems


def _render_chunk(jobs: list[tuple[str, dict[str, Any]]]) -> list[tuple[Path, Path]]:
    state = worker_state()
    compiled: CompiledTemplate = state["template"]
    try:
        return [(write_staged(Path(path), compiled.render_bytes(ctx), token=state["token"]), Path(path))
                for path, ctx in jobs]
    except FanpinError as exc:
        raise _PoolFailure(list(exc.problems)) from None


def render_many(compiled: CompiledTemplate, jobs: Iterable[tuple[Path, dict[str, Any]]], *, total: int | None = None,
                workers: int | None = None, progress: Callable[[int], None] | None = None) -> None:
    """Write every (path, context); a process pool when the batch is big and workers > 1.

    ``jobs`` may be a generator: contexts are made as the pool asks for them, with at
    most a few chunks in flight, so memory does not grow with the batch. All or
    nothing: every file is staged under a temporary name and the batch is moved into
    place only when every form has been filled."""
    workers = (os.cpu_count() or 1) if workers is None else max(1, int(workers))
    total = len(jobs) if total is None and isinstance(jobs, Sized) else total
    token = new_token()
    folders: set[Path] = set()
    staged: list[tuple[Path, Path]] = []

    def chunks() -> Iterator[list[tuple[str, dict[str, Any]]]]:
        chunk: list[tuple[str, dict[str, Any]]] = []
        for path, ctx in jobs:
            folders.add(Path(path).parent)
            chunk.append((str(path), ctx))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    try:
        if workers <= 1 or (total or 0) < POOL_THRESHOLD:
            for chunk in chunks():
                for path, ctx in chunk:
                    staged.append((write_staged(Path(path), compiled.render_bytes(ctx), token=token), Path(path)))
                    if progress:
                        progress(1)
            commit_staged(staged)
            return
        mp = pool_context(PRELOAD)
        forked = mp.get_start_method() == "fork"
        if forked:
            worker_state()["template"] = compiled  # the children inherit it: no pickling, no recompiling
        pool = start_pool(workers, mp, _init_worker, (None if forked else compiled.data, compiled.label, token))
        with stopped_on_failure(pool):
            pending: set[cf.Future] = set()

            def collect(wait_for: str) -> None:
                nonlocal pending
                done, pending = cf.wait(pending, return_when=wait_for)
                for fut in done:
                    written = fut.result()
                    staged.extend(written)
                    if progress:
                        progress(len(written))

            for chunk in chunks():
                if len(pending) >= IN_FLIGHT * workers:
                    collect(cf.FIRST_COMPLETED)
                pending.add(pool.submit(_render_chunk, chunk))
            while pending:
                collect(cf.FIRST_COMPLETED)
        commit_staged(staged)
    except _PoolFailure as exc:
        raise RenderError(exc.problems) from None
    except BrokenProcessPool:
        raise RenderError.of(Code.RENDER_TEMPLATE_FAILED, path=compiled.label,
                             why="填写进程异常退出（可能是内存不足，或进程被系统结束）") from None
    finally:
        for folder in folders:
            sweep_temp(folder, token)


def existing_files(out_dir: Path, paths: Sequence[Path]) -> tuple[int, int]:
    """(files of this batch already there, other visible files) in ``out_dir``.

    A DOCX of this batch counts with its PDF; ``errors.csv`` is this batch's report."""
    ours = {p.name for p in paths} | {p.with_suffix(".pdf").name for p in paths} | {"errors.csv"}
    replaced = unrelated = 0
    with contextlib.suppress(OSError):
        for entry in out_dir.iterdir():
            if entry.name.startswith(".") or not entry.is_file():
                continue
            if entry.name in ours:
                replaced += entry.name != "errors.csv"
            else:
                unrelated += 1
    return replaced, unrelated


def check_name_lengths(out_dir: Path, names: Sequence[str]) -> None:
    """Refuse the batch, before anything is written, if a file name (or its PDF's) is
    longer than the file system under ``out_dir`` allows."""
    limit = name_limit(out_dir)
    long = [(n, name_bytes(n)) for n in names if name_bytes(n) > limit]
    if long:
        name, size = long[0]
        more = f"，共 {len(long)} 个文件名超长" if len(long) > 1 else ""
        raise RenderError.of(Code.IO_NAME_TOO_LONG, folder=str(out_dir), name=name, size=size, limit=limit,
                             more=more)


DEFAULT_PATTERN = "{township}_{village}_{head_name}_{case_id}"


def fill_batch(form: FormSpec, records: Sequence, county, out_dir: Path | str, *, name_pattern: str = DEFAULT_PATTERN,
               year: int | None = None, workers: int | None = None, progress: Callable[[int], None] | None = None,
               template: Path | str | bytes | CompiledTemplate | None = None, types: dict | None = None,
               notice: Callable[[Problem], None] | None = None) -> list[Path]:
    """Fill ``form`` once per record into ``out_dir``; returns the paths in record order.

    Validates the name pattern, the file names' lengths and the county's baseline for
    ``year`` (default: this year) before writing anything; contexts are then made as
    the writers need them. ``notice`` is told (a warning) when ``out_dir`` already holds
    files: this batch's are replaced, each atomically; others are left alone."""
    import datetime as dt

    from .context import record_context, record_ident
    from .filenames import file_names

    year = dt.date.today().year if year is None else year
    names = file_names(form, records, name_pattern)
    county.placeholders(year)  # raises POLICY_NO_BASELINE now rather than mid-batch
    compiled = compile_for(form, template)
    out = Path(out_dir)
    check_name_lengths(out, names)
    ensure_dir(out)
    sweep_stale(out)
    paths = [out / name for name in names]
    replaced, unrelated = existing_files(out, paths)
    if notice is not None and replaced + unrelated:
        notice(Problem(Code.IO_EXISTING_FILES, {"folder": str(out), "total": replaced + unrelated,
                                                "replaced": replaced, "unrelated": unrelated}, severity="warning"))
    jobs = ((path, record_context(form, r, county, year, record_ident(r, i + 1), types=types))
            for i, (path, r) in enumerate(zip(paths, records)))
    render_many(compiled, jobs, total=len(paths), workers=workers, progress=progress)
    return paths


def compile_for(form: FormSpec, template: Path | str | bytes | CompiledTemplate | None) -> CompiledTemplate:
    """The compiled template: given, or built from the form's spec."""
    if isinstance(template, CompiledTemplate):
        return template
    if template is None:
        from .template import build_template

        return CompiledTemplate(build_template(form), label=f"{form.id}（由表单定义生成）")
    return CompiledTemplate(template)




__all__ = ["CompiledTemplate", "DEFAULT_PATTERN", "compile_for", "fill_batch", "make_env", "render_many"]
