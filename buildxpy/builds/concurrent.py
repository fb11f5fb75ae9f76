"""Several docker builds at once, one thread each, through one runner (as ``image_export`` runs its
per-platform builds). Unlike an export, one build failing does not stop the others: each platform's
result stands on its own. Ctrl-C stops every docker child and is raised again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

from buildxpy.docker.runner import Runner

T = TypeVar("T")
# How often the main thread looks up from waiting, so Ctrl-C is handled promptly.
POLL_SECONDS = 0.2


class Cancelled(Exception):
    """A job that was about to start after Ctrl-C."""


def boot_first(runner: Runner, builder: str | None, builds: int) -> None:
    """Several builds started at once on a stopped `docker-container` builder each try to start
    its BuildKit container, and all but one fail (``dial unix …/buildkitd.sock: no such file``):
    one boot first, which returns at once for a builder already running. A boot that fails is
    left for the builds to report, in their own words."""
    if builds < 2 or runner.dry_run:
        return
    argv = ["buildx", "inspect", "--bootstrap", *([builder] if builder else [])]
    runner.run(*argv, check=False, timeout=300)


def run_each(runner: Runner, jobs: Mapping[str, Callable[[], T]]) -> dict[str, T | BaseException]:
    """Every job's result, or the exception it raised, by key."""
    if not jobs:
        return {}
    cancelled = threading.Event()

    def guarded(job: Callable[[], T]) -> T:
        if cancelled.is_set():
            raise Cancelled
        return job()

    pool = ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="build")
    futures = {pool.submit(guarded, job): key for key, job in jobs.items()}
    try:
        pending: set[Future[T]] = set(futures)
        while pending:
            _, pending = wait(pending, timeout=POLL_SECONDS)
    except BaseException:
        stop_all(runner, futures, cancelled)
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)
    out: dict[str, T | BaseException] = {}
    for future, key in futures.items():
        error = future.exception()
        out[key] = error if error is not None else future.result()
    return out


def stop_all(
    runner: Runner, futures: Mapping[Future[T], object], cancelled: threading.Event
) -> None:
    """Stop the builds still running (``cancelled`` keeps queued ones from starting); a thread
    that was just starting its process is caught by the next round. A second Ctrl-C does not cut
    this short: the runner already escalates to SIGKILL, and leaving would leave docker children."""
    cancelled.set()
    interrupted = False
    while not all(f.done() for f in futures):
        try:
            runner.interrupt_all()
            wait(futures, timeout=POLL_SECONDS)
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt
