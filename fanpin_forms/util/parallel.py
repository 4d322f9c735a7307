"""The one worker-pool policy: how workers start, what they ignore, how a failed batch stops them.

**Start method.** A pool forks its workers only when forking is safe, and otherwise
uses ``forkserver`` (``spawn`` where that does not exist):

* fork copies the parent as it is: the compiled template, the loaded plugins and
  every imported module come for free (a fill pool is ready in ~0.1 s, where a
  fresh interpreter first re-imports docxtpl, lxml and Jinja and compiles the
  template again);
* but fork copies only the calling thread. A parent that has loaded OpenCV or
  onnxruntime (:data:`THREADED_NATIVE`) holds locks of their native thread pools,
  and a forked child that touches them waits forever — this is how read-back
  workers deadlocked. So fork is chosen only when none of them is loaded in the
  parent *when the pool starts*; this is enough because CPython launches every
  forked worker of a ``ProcessPoolExecutor`` at its first task, before its own
  manager thread runs, and never forks again for that pool (a worker that dies
  breaks the pool, and a new pool checks again);
* only on Linux, where fork is the platform's own default (macOS's system
  libraries are not fork-safe whatever is loaded).

In practice ``fanpin fill`` forks (it never loads OpenCV), and a read-back pool
started after pages were read in-process (OpenCV and onnxruntime loaded) or in a
long-lived process that also reads scans goes through the forkserver, whose
server imports ``preload`` once so that each worker starts warm.

**Signals.** Ctrl-C and a closing terminal reach the whole process group: every
worker ignores SIGINT and SIGHUP, so the parent alone decides (it cancels the batch
and terminates its workers), and SIGTERM — how it does so — has its default action
(a handler inherited by fork would otherwise run in the worker).

**State.** Each worker process holds what its initialiser built in one dict,
:func:`worker_state`; with fork, the parent can put it there before the pool starts
and the workers inherit it.

**Failure.** :func:`stopped_on_failure` shuts a pool down at once on any error or
interrupt: queued tasks are cancelled and running workers terminated.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.context import BaseContext
from typing import Any

__all__ = ["THREADED_NATIVE", "fork_is_safe", "pool_context", "start_pool", "stopped_on_failure", "terminate",
           "worker_state"]

#: modules whose native thread pools make a forked child hang
THREADED_NATIVE = ("cv2", "onnxruntime")

_STATE: dict[str, Any] = {}


def worker_state() -> dict[str, Any]:
    """What this worker process keeps between tasks (its initialiser fills it)."""
    return _STATE


def fork_is_safe() -> bool:
    """Whether a pool started now may fork: Linux, and no native thread pool loaded in this process."""
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and not any(name in sys.modules for name in THREADED_NATIVE))


def pool_context(preload: Sequence[str] = ()) -> BaseContext:
    """The start method for a pool starting now (see the module docstring).

    ``preload``: modules the forkserver imports once for all its workers; the first
    pool to start the forkserver decides them, so callers pass every module their
    workers need."""
    if fork_is_safe():
        return multiprocessing.get_context("fork")
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        if preload:
            ctx.set_forkserver_preload(list(preload))
        return ctx
    return multiprocessing.get_context("spawn")


def _initialise(init: Callable[..., None] | None, args: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if init is not None:
        init(*args)


def start_pool(workers: int, context: BaseContext, init: Callable[..., None] | None = None,
               args: tuple = ()) -> cf.ProcessPoolExecutor:
    """A process pool whose workers ignore SIGINT/SIGHUP and then run ``init(*args)``
    (a module-level function: with forkserver or spawn it is pickled)."""
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_initialise,
                                  initargs=(init, args))


def terminate(pool: cf.ProcessPoolExecutor) -> None:
    """Stop ``pool`` now: cancel what is queued, terminate the workers, wait for them."""
    # No public handles in 3.11 (terminate_workers() is 3.14).
    workers = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in workers:
        with contextlib.suppress(Exception):
            proc.join(5)
    pool.shutdown(wait=True)  # the manager thread sees its workers gone and ends
    # An interrupted pool's wake-up pipe can be closed under it; the exit hook that
    # writes to it would print a traceback after our message.
    if manager is not None:
        getattr(cf.process, "_threads_wakeups", {}).pop(manager, None)


@contextlib.contextmanager
def stopped_on_failure(pool: cf.ProcessPoolExecutor, *, keep: bool = False) -> Iterator[None]:
    """Shut ``pool`` down when the block ends: at once on any error or interrupt
    (:func:`terminate`); otherwise waiting for it, or leaving it running if ``keep``.

    ``shutdown(cancel_futures=True)`` alone would still wait for the tasks being
    run; a worker killed mid-write leaves only a temporary file, which its batch's
    sweep removes."""
    try:
        yield
    except BaseException:
        terminate(pool)
        raise
    if not keep:
        pool.shutdown(wait=True)
