"""Spread chunks of work over all cores: forked workers that inherit their inputs, or any Executor.

A build hands big, read-only state (the resolved site, the config) to every
worker. Pickling it for each task would cost as much as the work (markdown-it
tokens unpickle as slowly as they parse), so by default `map_chunks` forks
workers *after* that state is built: they inherit it for free, set up once
(`setup(shared)`, e.g. a Jinja environment), take chunk numbers from a queue and
send back only results; this process takes chunks from the same queue, so `jobs`
processes work, `jobs - 1` of them forked. Any `concurrent.futures.Executor` can be given instead
(a thread pool, a process pool, or a distributed engine such as Dask's
`Client.get_executor()`); then each task receives `shared` itself (pickled by
process executors) and does its own setup.

Results come back in chunk order whatever order the workers finish in, so a
parallel run gives exactly what a single-process run gives.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import queue
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from site_gen.diagnostics import DiagnosticError

S = TypeVar("S")
C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")

WORKER_POLL_SECONDS = 0.5
"""How often the parent checks that no worker died while it waits for results."""


@dataclass(frozen=True)
class ChunkJob(Generic[S, C, T, R]):
    """What to do with each chunk: `work(setup(shared), item)` for every item, setup once per worker."""

    setup: Callable[[S], C]
    work: Callable[[C, T], R]
    finish: Callable[[C], None] | None = None
    """Called after each chunk (e.g. to free what the chunk needed)."""

    def run_chunk(self, shared: S, chunk: Sequence[T]) -> list[R]:
        """One chunk on its own (an Executor task): set up, then do every item."""
        return self.run_with(self.setup(shared), chunk)

    def run_with(self, context: C, chunk: Sequence[T]) -> list[R]:
        """One chunk with a context already set up."""
        results = [self.work(context, item) for item in chunk]
        if self.finish is not None:
            self.finish(context)
        return results


def default_jobs() -> int:
    """The number of processes a build uses by default: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Forking is safe only without other threads (they could hold locks the child inherits)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def map_chunks(job: ChunkJob[S, Any, T, R], shared: S, chunks: Sequence[Sequence[T]], jobs: int,
               executor: Executor | None = None, progress: Callable[[int], None] | None = None) -> list[list[R]]:
    """`job` over every chunk; results in chunk order. Errors in a worker are raised here.

    With an `executor`, chunks are its tasks. Otherwise up to `jobs` processes do them, this
    one and forked workers (this one alone when `jobs` is 1, there is one chunk, or forking is unsafe).
    """
    return list(iter_chunks(job, shared, chunks, jobs, executor, progress))


def iter_chunks(job: ChunkJob[S, Any, T, R], shared: S, chunks: Sequence[Sequence[T]], jobs: int,
                executor: Executor | None = None, progress: Callable[[int], None] | None = None) -> Iterator[list[R]]:
    """`map_chunks`, each chunk's results given as soon as it and the chunks before it are done:
    a caller that writes them away holds one chunk at a time, not the whole site (issue 4: memory)."""
    tick = progress or (lambda _n: None)
    if executor is not None:
        futures = [executor.submit(job.run_chunk, shared, chunk) for chunk in chunks]
        for future, chunk in zip(futures, chunks):
            yield future.result()
            tick(len(chunk))
        return
    if jobs <= 1 or len(chunks) <= 1 or not can_fork():
        context = job.setup(shared)
        for chunk in chunks:
            yield job.run_with(context, chunk)
            tick(len(chunk))
        return
    yield from _fork_map(job, shared, chunks, min(jobs, len(chunks)), tick)


def _fork_map(job: ChunkJob[S, Any, T, R], shared: S, chunks: Sequence[Sequence[T]], jobs: int,
              tick: Callable[[int], None]) -> Iterator[list[R]]:
    """`jobs - 1` forked workers and this process share the chunks.

    This process works too rather than only waiting: every process that touches the
    inherited state copies the memory pages it touches (reference counts are writes), so
    one worker fewer is one copy of the site fewer (issue 4: peak memory of a cold build).
    """
    context = multiprocessing.get_context("fork")
    tasks: Any = context.SimpleQueue()
    results: Any = context.Queue()
    for index in range(len(chunks)):
        tasks.put(index)
    for _ in range(jobs):  # a stop sign for each process, this one too
        tasks.put(None)
    # Process arguments are inherited through fork, never pickled: that is the point.
    workers = [context.Process(target=_worker, args=(job, shared, chunks, tasks, results, os.getpid()), daemon=True)
               for _ in range(jobs - 1)]
    try:  # started inside the try: a Ctrl-C between two starts must not orphan the first
        for worker in workers:
            worker.start()
        yield from _share(_Shared(job, shared, chunks, tasks, results, workers), tick)
    finally:
        for worker in workers:
            if worker.pid is None:
                continue
            if worker.is_alive():
                worker.terminate()
            worker.join()
        results.close()


@dataclass
class _Shared(Generic[S, C, T, R]):
    """One `_fork_map`: the job, its chunks, the queues, the workers, and this process's own context."""

    job: ChunkJob[S, C, T, R]
    shared: S
    chunks: Sequence[Sequence[T]]
    tasks: Any
    results: Any
    workers: list
    context: list[C] = field(default_factory=list)
    """This process's context once set up (empty before its first chunk)."""

    def run(self, index: int) -> list[R]:
        """Do chunk `index` here; its errors are raised as they are."""
        if not self.context:
            self.context.append(self.job.setup(self.shared))
        return self.job.run_with(self.context[0], self.chunks[index])


def _share(run: _Shared, tick: Callable[[int], None]) -> Iterator[list[R]]:
    """Results in chunk order, each given once it and those before it are done; between
    workers' results this process does chunks of its own until none are left to take."""
    done: dict[int, list[R]] = {}
    given, taking = 0, True
    while given < len(run.chunks):
        if given in done:
            yield done.pop(given)
            given += 1
        elif _receive(run, done, tick, wait=not taking):
            continue
        elif taking and (index := run.tasks.get()) is not None:  # None: this process's stop sign
            done[index] = run.run(index)
            tick(len(run.chunks[index]))
        else:
            taking = False


def _receive(run: _Shared, done: dict[int, list[R]], tick: Callable[[int], None], wait: bool) -> bool:
    """Take one worker result into `done` if there is one (waiting a while if `wait`)."""
    try:
        index, status, payload = run.results.get(timeout=WORKER_POLL_SECONDS) if wait else run.results.get_nowait()
    except queue.Empty:
        dead = [w for w in run.workers if not w.is_alive() and w.exitcode != 0]
        if dead:
            raise RuntimeError(f"a build worker died (exit code {dead[0].exitcode}); "
                               "try again with --jobs 1 to see the problem") from None
        return False
    if status == "diagnostics":
        raise DiagnosticError(payload)
    if status == "error":
        raise RuntimeError(f"a build worker failed:\n{payload}")
    done[index] = payload
    tick(len(run.chunks[index]))
    return True


_PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal a process gets when its parent exits (Linux)."""


def _bound_to_parent(parent: int) -> None:
    """Make a forked worker end with the process that forked it, whatever that process was doing.

    Its SIGTERM goes back to the default (the parent's handler, such as the daemon's, raised
    SystemExit, which the worker caught, then blocked for ever flushing a result nobody would read,
    so `terminate()` never ended it); and on Linux it gets SIGTERM when the parent dies (a worker
    orphaned by `kill -9` of the daemon held the daemon's sockets open, and every later build
    waited on them)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above: nobody will read the results
        os._exit(0)


def _worker(job: ChunkJob[S, Any, T, R], shared: S, chunks: Sequence[Sequence[T]], tasks: Any, results: Any,
            parent: int) -> None:
    """A forked worker: set up once, then do chunks until told to stop."""
    _bound_to_parent(parent)
    failure: BaseException | None = None
    try:
        context = job.setup(shared)
    except BaseException as exc:  # reported for the first chunk this worker would have done
        context, failure = None, exc
    while (index := tasks.get()) is not None:
        try:
            if failure is not None:
                raise failure
            results.put((index, "ok", job.run_with(context, chunks[index])))
        except DiagnosticError as exc:
            results.put((index, "diagnostics", list(exc.diagnostics)))
        except BaseException:  # pylint: disable=broad-except  # the parent re-raises it
            results.put((index, "error", traceback.format_exc()))
    results.close()
    results.join_thread()


def chunked(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """`items` in consecutive chunks of at most `size` (at least one item each)."""
    size = max(1, size)
    return [items[i:i + size] for i in range(0, len(items), size)]
