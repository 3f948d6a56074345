"""Independent tasks (the class pairs of a matrix) on worker threads, one per core, each with
single-threaded BLAS.

A class matrix's pairs are independent, and most of their work parallelizes badly inside one
call: numpy's elementwise passes run on one thread, and a symmetric eigenvalue problem of order
~1000 (the Fréchet distance's) spends half its time in matrix-vector products whose threads
synchronize once per column. On a core shared with other processes, OpenBLAS's threads wait for
each other in busy loops: one 999 x 999 ``eigvalsh`` measured 0.09 s on one thread and 0.2-6 s on
two at load 5 on 2 cores. Running whole pairs side by side on one-thread BLAS has no such
synchronization and keeps every core busy.

BLAS threads are set through OpenBLAS's own ``openblas_set_num_threads`` (found among the
libraries the process has loaded, Linux only) and torch's ``set_num_threads``, for the duration
of the parallel section only, then restored. Where numpy's BLAS cannot be set (another BLAS,
another system), tasks run one after the other in the calling thread, as before. Results do not
depend on the route beyond rounding: each task is the same computation either way.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_SYMBOLS = (  # (get, set) thread-count functions of OpenBLAS builds, newest naming first
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)
_LOCK = threading.Lock()
_Funcs = tuple[Callable[[], int], Callable[[int], None]]
_FOUND: dict[str, _Funcs | None] = {}  # by library path; None: no thread-count functions


def _openblas() -> list[_Funcs]:
    """(get, set) thread-count functions of every OpenBLAS the process has loaded so far (numpy's,
    scipy's once imported), from /proc/self/maps; empty where there is none or no such file."""
    try:
        with open("/proc/self/maps") as f:
            paths = {
                parts[5].strip()
                for parts in (line.split(None, 5) for line in f)
                if len(parts) == 6 and "openblas" in os.path.basename(parts[5]).lower()
            }
    except OSError:
        return []
    for path in sorted(paths - _FOUND.keys()):
        _FOUND[path] = None
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _SYMBOLS:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                get, put = getattr(lib, get_name), getattr(lib, set_name)
                get.restype, get.argtypes = ctypes.c_int, []
                put.restype, put.argtypes = None, [ctypes.c_int]
                _FOUND[path] = (get, put)
                break
    return [fns for path, fns in sorted(_FOUND.items()) if fns is not None and path in paths]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def workers_for(tasks: int) -> int:
    """Worker threads :func:`map_ordered` would use for this many tasks (1: in the caller)."""
    if tasks < 2 or _cores() < 2:
        return 1
    libs = _openblas()
    if not libs:
        return 1
    return max(1, min(tasks, _cores(), max(get() for get, _ in libs)))


_SAVED: list = []  # [(libs, their thread counts, torch's)] while a parallel section is open
_OPEN = [0]  # parallel sections open (threads of one process may open several at once)


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """BLAS and torch on one thread until the block ends; the counts from before the first of
    several overlapping blocks are restored when the last one ends."""
    import torch

    with _LOCK:
        if _OPEN[0] == 0:
            libs = _openblas()
            _SAVED[:] = [(libs, [get() for get, _ in libs], torch.get_num_threads())]
            for _, put in libs:
                put(1)
            torch.set_num_threads(1)
        _OPEN[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _OPEN[0] -= 1
            if _OPEN[0] == 0:
                libs, before, torch_before = _SAVED.pop()
                for (_, put), n in zip(libs, before, strict=True):
                    put(n)
                torch.set_num_threads(torch_before)


class Pool:
    """Tasks on worker threads (single-threaded BLAS), or run at once in the caller when
    ``executor`` is None."""

    def __init__(self, executor: ThreadPoolExecutor | None, workers: int) -> None:
        self._executor = executor
        self.workers = workers

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """``fn(*args)`` as a future (computed now, in the caller, without workers)."""
        if self._executor is not None:
            return self._executor.submit(fn, *args)
        fut: Future[R] = Future()
        try:
            fut.set_result(fn(*args))
        except Exception as e:  # noqa: BLE001 - handed to whoever reads the future
            fut.set_exception(e)
        return fut

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """``fn(item)`` for every item, yielded in order (computed one by one as they are read,
        without workers). An exception in a task cancels the tasks not yet started."""
        if self._executor is None:
            yield from map(fn, items)
            return
        futures = [self._executor.submit(fn, item) for item in items]
        try:
            for fut in futures:
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()


@contextmanager
def pool(tasks: int = 2) -> Iterator[Pool]:
    """A :class:`Pool` of :func:`workers_for` threads with BLAS and torch single-threaded until
    the block ends (tasks not started are cancelled if it ends by an exception); one that runs
    every task in the caller where that is a single worker."""
    n = workers_for(tasks)
    if n <= 1:
        yield Pool(None, 1)
        return
    with _one_blas_thread():
        executor = ThreadPoolExecutor(n, thread_name_prefix="semsim-matrix")
        try:
            yield Pool(executor, n)
        except BaseException:
            executor.shutdown(wait=True, cancel_futures=True)
            raise
        executor.shutdown(wait=True)


def map_ordered(
    fn: Callable[[T], R], items: Sequence[T], workers: int | None = None
) -> Iterator[R]:
    """``fn(item)`` for every item in order, on a :func:`pool` of its own (``workers``: that
    many threads instead of :func:`workers_for`'s)."""
    if workers is not None and workers <= 1:
        yield from map(fn, items)
        return
    if workers is None:
        with pool(len(items)) as p:
            yield from p.map(fn, items)
        return
    with _one_blas_thread(), ThreadPoolExecutor(workers) as executor:
        yield from Pool(executor, workers).map(fn, items)
