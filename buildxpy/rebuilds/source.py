"""The source a pushed image was built from: the commit its ``org.opencontainers.image.revision``
label names, checked out beside the checkout (a detached git worktree, removed afterwards) unless
the checkout already is that commit, unmodified."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from buildxpy import log
from buildxpy.ci.git_facts import git_output
from buildxpy.errors import BuildxpyError, ConfigError


@dataclass(frozen=True, slots=True)
class Source:
    # The checkout's top directory and where the commit is checked out (the same when it is the
    # checkout itself); None outside a git checkout.
    top: Path | None = None
    tree: Path | None = None
    revision: str | None = None

    def path(self, path: Path) -> Path:
        """``path`` (in the checkout) in the commit's tree."""
        if self.top is None or self.tree is None or self.top == self.tree:
            return path
        try:
            return self.tree / path.resolve().relative_to(self.top)
        except ValueError:
            return path  # outside the checkout: not part of the commit


@contextmanager
def source_of(revision: str | None, directory: Path) -> Iterator[Source]:
    _require_git()
    top = git_output(directory, "rev-parse", "--show-toplevel")
    if top is None:
        log.get().warning("not a git checkout: rebuilding from the directory as it is",
                          directory=str(directory))  # fmt: skip
        yield Source()
        return
    root = Path(top)
    head = git_output(root, "rev-parse", "HEAD")
    wanted = _commit(root, revision) if revision else head
    if wanted is None:
        raise ConfigError(f"{root} has no commit to rebuild")
    if wanted == head and not git_output(root, "status", "--porcelain", "--untracked-files=no"):
        yield Source(root, root, wanted)
        return
    with _worktree(root, wanted) as tree:
        yield Source(root, tree, wanted)


def _commit(root: Path, revision: str) -> str:
    sha = git_output(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if sha is None:
        raise ConfigError(
            f"the image was built from commit {revision}, which {root} does not have: "
            f"fetch it (git fetch origin {revision}) and run again"
        )
    return sha


@contextmanager
def _worktree(root: Path, sha: str) -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="buildxpy-rebuild-"))
    tree = parent / "source"
    try:
        done = _run(root, "worktree", "add", "--detach", "--quiet", str(tree), sha)
        if done.returncode != 0:
            raise BuildxpyError(f"cannot check out {sha[:12]}: {done.stderr.strip()}")
        log.get().info("checked out the image's commit", revision=sha, tree=str(tree))
        yield tree
    finally:
        _run(root, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(parent, ignore_errors=True)
        _run(root, "worktree", "prune")


def _require_git() -> str:
    git = shutil.which("git")
    if git is None:
        raise ConfigError("rebuild-check needs git to check out the image's commit")
    return git


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A git command that changes the repository (the worktree), its errors kept to be said."""
    return subprocess.run(
        [_require_git(), *args], cwd=cwd, capture_output=True, text=True, check=False
    )
