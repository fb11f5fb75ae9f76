"""The checkout's git queries, started early and read later.

``build`` starts them right after its arguments are parsed (``prefetch``), from a thread of their
own: they run while buildxpy imports its models and reads its settings, and the main thread is not
held while each process starts. ``git_meta`` reads the answers (``answers_for``). Apart from
``git_meta`` so that starting them loads nothing else.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path

# What a checkout is asked; none needs another's answer, so all run at once.
CHECKOUT_QUERIES: tuple[tuple[str, ...], ...] = (
    ("-c", "log.showSignature=false", "log", "-1", "--format=%H %ct", "HEAD", "--"),
    ("tag", "--points-at", "HEAD"),
    ("symbolic-ref", "-q", "--short", "HEAD"),
    ("symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"),
    ("remote", "get-url", "origin"),
)


class _Started:
    """The queries for one directory, started by a thread: ``processes`` once it has joined."""

    def __init__(self, directory: Path) -> None:
        self.processes: list[subprocess.Popen[str] | None] = []
        self._thread = threading.Thread(
            target=self._start, args=(directory,), name="buildxpy-git", daemon=True
        )
        self._thread.start()

    def _start(self, directory: Path) -> None:
        self.processes = [start_git(directory, query) for query in CHECKOUT_QUERIES]

    def answers(self) -> list[str | None]:
        self._thread.join()
        return answers(self.processes)


_prefetched: dict[Path, _Started] = {}


def source_directory(context: str) -> Path:
    """Where git is asked: the build context when it is a local directory, else here."""
    path = Path(context)
    return path if "://" not in context and path.is_dir() else Path.cwd()


def from_ci(environ: Mapping[str, str]) -> bool:
    """CI variables say what the checkout would (GitHub Actions, GitLab CI)."""
    return on_github(environ) or bool(environ.get("CI_COMMIT_SHA"))


def on_github(environ: Mapping[str, str]) -> bool:
    return bool(
        environ.get("GITHUB_SHA") and (environ.get("GITHUB_REF") or environ.get("GITHUB_REF_NAME"))
    )


def prefetch(context: str, environ: Mapping[str, str]) -> None:
    """Start the checkout's queries for ``context`` now, for ``answers_for`` to read later.
    Nothing is started where CI variables answer."""
    if from_ci(environ) or shutil.which("git") is None:
        return
    directory = source_directory(context).resolve()
    if directory not in _prefetched:
        _prefetched[directory] = _Started(directory)


def answers_for(directory: Path) -> list[str | None]:
    """Each of ``CHECKOUT_QUERIES``' answers for ``directory``: the prefetched ones, else asked
    now, all at once."""
    started = _prefetched.pop(directory.resolve(), None)
    if started is not None:
        return started.answers()
    return answers([start_git(directory, query) for query in CHECKOUT_QUERIES])


def forget_prefetched() -> None:
    """Wait for and drop the queries ``prefetch`` started that nothing read."""
    for started in _prefetched.values():
        started.answers()
    _prefetched.clear()


def answers(started: list[subprocess.Popen[str] | None]) -> list[str | None]:
    """What each started query printed, trimmed; None for one that failed or could not start."""
    found: list[str | None] = []
    for proc in started:
        out, _ = proc.communicate() if proc else (None, None)
        found.append(out.strip() if proc and out is not None and proc.returncode == 0 else None)
    return found


def start_git(cwd: Path, args: tuple[str, ...]) -> subprocess.Popen[str] | None:
    quiet = subprocess.DEVNULL
    try:
        return subprocess.Popen(
            ["git", *args], cwd=cwd, stdin=quiet, stdout=subprocess.PIPE, stderr=quiet, text=True
        )
    except OSError:
        return None
