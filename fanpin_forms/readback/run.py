"""``fanpin parse``: returned forms (PDFs, images, folders of them) → one record per form.

Every input page is accounted for: ``pages = recognised + foreign + duplicates +
failed`` (a file that cannot be opened at all counts as one failed page). Pages are
read in parallel (one process per core by default; each worker keeps its own OCR
engine and open files), then put together in the main process by :mod:`.assemble`.

The worker processes start as :mod:`fanpin_forms.util.parallel` decides (never a
plain fork once this process has loaded OpenCV or onnxruntime: their thread-pool
locks would never be released in the child), ignore Ctrl-C (the parent stops them),
and are kept for the next call. A worker gets the setup's ``rebuild`` (see
:mod:`.setup`) and makes its own setup with it. As with any ``multiprocessing`` code,
a script that calls :func:`parse_inputs` with more than one worker must do so under
``if __name__ == "__main__":``.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import Code, Problem, ReadBackError
from ..util.parallel import pool_context, start_pool, stopped_on_failure, worker_state
from .assemble import ParseResult, assemble
from .inputs import FileFailure, close_all, collect_files, load_page, page_count
from .results import PageResult
from .setup import ReadSetup

Job = tuple[str, str, int]  # (path, source shown, page number)


# --- workers ---------------------------------------------------------------------------------


def _init_worker(rebuild: Callable[[], ReadSetup], threads: int | None, secret_file: str | None = None) -> None:
    if secret_file:
        from ..util.secret import SECRET_FILE_ENV

        os.environ[SECRET_FILE_ENV] = secret_file
    if threads:
        os.environ["FANPIN_FORMS_OCR_THREADS"] = str(threads)
        try:
            import cv2

            cv2.setNumThreads(threads)
        except ImportError:  # pragma: no cover
            pass
    worker_state()["setup"] = rebuild()


def _work(jobs: list[Job], crops: bool) -> list[PageResult]:
    setup = worker_state()["setup"]
    return [_read_one(setup, Path(path), source, number, crops) for path, source, number in jobs]


def _read_one(setup: ReadSetup, path: Path, source: str, number: int, crops: bool) -> PageResult:
    from .page import read_page

    page = load_page(path, number, source=source)
    if isinstance(page, FileFailure):
        return PageResult.failed(source, number, page.problem)
    return read_page(setup, page, crops=crops)


_POOL: dict[str, Any] = {}


def _preload(setup: ReadSetup) -> tuple[str, ...]:
    """What a forkserver imports once for every worker: the page reader and the module of ``rebuild``."""
    rebuild = getattr(setup.rebuild, "func", setup.rebuild)
    return ("fanpin_forms.readback.page",) + ((rebuild.__module__,) if getattr(rebuild, "__module__", None) else ())


def _pool(setup: ReadSetup, workers: int) -> cf.ProcessPoolExecutor:
    """The worker pool, kept between runs of one process: a worker's OCR engine, blank
    forms and open files stay loaded (loading them takes a few seconds per worker)."""
    from ..util.secret import secret_path

    if setup.rebuild is None:
        raise ValueError("a setup read by worker processes needs `rebuild` (see readback/setup.py)")
    secret_file = str(secret_path())
    key = (setup.county_code, workers, secret_file)
    pool = _POOL.get("pool")
    if pool is not None and _POOL.get("key") == key and not getattr(pool, "_broken", False):
        return pool
    shutdown_workers()
    pool = start_pool(workers, pool_context(_preload(setup)), _init_worker, (setup.rebuild, 1, secret_file))
    if not _POOL.get("atexit"):
        import atexit

        atexit.register(shutdown_workers)
        _POOL["atexit"] = True
    _POOL.update(key=key, pool=pool)
    return pool


def shutdown_workers() -> None:
    """Stop the kept worker processes (they also stop when the program ends)."""
    pool = _POOL.pop("pool", None)
    _POOL.pop("key", None)
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunk_size(n: int, workers: int) -> int:
    return max(1, min(8, n // (workers * 4) or 1))


def _run(setup: ReadSetup, jobs: list[Job], workers: int, crops: bool,
         progress: Callable[[int], None] | None, in_process: bool) -> list[PageResult]:
    if not jobs or (in_process and (workers <= 1 or len(jobs) <= 2)):
        out = []
        for job in jobs:
            out.append(_read_one(setup, Path(job[0]), job[1], job[2], crops))
            if progress:
                progress(1)
        return out
    size = _chunk_size(len(jobs), workers)
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    close_all()
    results: list[list[PageResult] | None] = [None] * len(chunks)
    pool = _pool(setup, workers)
    futures = {pool.submit(_work, chunk, crops): k for k, chunk in enumerate(chunks)}
    try:
        with stopped_on_failure(pool, keep=True):
            for fut in cf.as_completed(futures):
                k = futures[fut]
                try:
                    results[k] = fut.result()
                except cf.process.BrokenProcessPool:
                    raise
                except Exception as exc:  # noqa: BLE001 - a worker bug: fail those pages, not the run
                    problem = Problem(Code.READ_PAGE_FAILED, {"why": f"{type(exc).__name__}: {exc}"[:300]})
                    results[k] = [PageResult.failed(s, n, problem) for _, s, n in chunks[k]]
                if progress:
                    progress(len(chunks[k]))
    except cf.process.BrokenProcessPool:
        for f in futures:
            f.cancel()
        _POOL.pop("pool", None)
        problem = Problem(Code.READ_PAGE_FAILED, {"why": "读取进程异常退出（可能是内存不足；从脚本调用时，脚本须有 if __name__ == \"__main__\": 保护）"})
        for k, chunk in enumerate(chunks):
            if results[k] is None:
                results[k] = [PageResult.failed(s, n, problem) for _, s, n in chunk]
    except BaseException:  # an interrupt: stopped_on_failure has terminated the workers
        _POOL.pop("pool", None)
        _POOL.pop("key", None)
        raise
    return [r for chunk in results for r in (chunk or [])]


# --- the run ---------------------------------------------------------------------------------


def parse_inputs(setup: ReadSetup, paths: Sequence[Path], *, data: Path | None = None,
                 review_dir: Path | None = None, workers: int | None = None,
                 progress: Callable[[int], None] | None = None, sheet: str | None = None,
                 on_start: Callable[[int], None] | None = None, in_process: bool = True) -> ParseResult:
    """Read every page of ``paths`` (files or folders) into records.

    ``setup``: what reading needs (``App.read_setup()``). ``progress(n)`` is called as
    pages finish, with how many more are done (like a click progress bar's
    ``update``); ``on_start(total)`` once, with the number of pages about to be read.
    ``in_process``: with one worker (or two pages or fewer) the pages are read in this
    process, as the CLI does; False reads them in the worker pool even with ``workers=1``
    (one child process: a web process that reads scans keeps its GIL for its pages).
    Raises only for problems with the request itself (no input file at all, an
    unwritable review folder); everything that goes wrong with a file or a page is in
    ``result.failures`` and ``result.pages``."""
    files, file_failures = collect_files([Path(p) for p in paths])
    if not files and not file_failures:
        raise ReadBackError.of(Code.READ_NO_INPUT)
    jobs: list[Job] = []
    order: list[int | FileFailure] = []  # a job's index or a file that failed, in input order
    failed_early = {f.source: f for f in file_failures}
    for p in [Path(x) for x in paths]:
        if str(p) in failed_early:
            order.append(failed_early.pop(str(p)))
    for path in files:
        n = page_count(path)
        if isinstance(n, FileFailure):
            order.append(n)
            continue
        for i in range(1, n + 1):
            order.append(len(jobs))
            jobs.append((str(path), str(path), i))
    close_all()
    if on_start:
        on_start(len(jobs))
    n_workers = (os.cpu_count() or 1) if workers is None else max(1, int(workers))
    try:
        results = _run(setup, jobs, n_workers, review_dir is not None, progress, in_process)
    finally:
        close_all()  # the in-process path keeps documents open between pages, not after the run
    merged = [results[item] if isinstance(item, int) else PageResult.failed(item.source, item.page, item.problem)
              for item in order]
    result = assemble(setup, merged, data=data, sheet=sheet, review_dir=review_dir)
    result.summary["files"] = len(files) + len(file_failures)
    return result


__all__ = ["ParseResult", "assemble", "parse_inputs", "shutdown_workers"]
