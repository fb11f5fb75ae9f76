"""Putting finished files in place: all of them or none, an earlier file kept until then."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from buildxpy.errors import BuildxpyError


def check_target(path: Path, what: str) -> None:
    """Refuse a path a file cannot be renamed onto, before any work is spent on the file."""
    if path.is_dir() and not path.is_symlink():
        raise BuildxpyError(f"{what} {path}: a directory is in the way")


@contextlib.contextmanager
def scratch_beside(final: Path) -> Iterator[Path]:
    """A private hidden file beside ``final`` (``.STEM-XXXX.SUFFIX``), removed afterwards: builds
    running at once never read each other's, and a failed one leaves ``final`` as it was."""
    stem = final.stem.lstrip(".")
    fd, name = tempfile.mkstemp(prefix=f".{stem}-", suffix=final.suffix, dir=final.parent)
    os.close(fd)
    scratch = Path(name)
    try:
        yield scratch
    finally:
        scratch.unlink(missing_ok=True)


def install(pairs: Sequence[tuple[Path, Path]], what: str = "cannot write") -> None:
    """Rename each finished ``temp`` onto its ``path``. When one rename fails, the paths already
    renamed get their earlier file back (or lose the new one), so nothing is half-replaced."""
    backups: list[Path | None] = []
    done: list[tuple[Path, Path | None]] = []
    try:
        backups += [_backup(path) for _, path in pairs]
        for (temp, path), backup in zip(pairs, backups, strict=True):
            try:
                temp.replace(path)
            except OSError as exc:
                _undo(done)
                changed = "no file was replaced" if len(pairs) > 1 else "it was not replaced"
                raise BuildxpyError(f"{what} {path}: {exc.strerror}; {changed}") from None
            done.append((path, backup))
    finally:
        for backup in backups:
            if backup is not None:
                backup.unlink(missing_ok=True)


def _backup(path: Path) -> Path | None:
    """A second name for the file at ``path`` (a hard link; a copy where links are refused), so it
    can be put back after ``path`` is replaced."""
    if not path.is_file() or path.is_symlink():
        return None
    backup = path.with_name(f".{path.name}.{os.getpid()}.old")
    backup.unlink(missing_ok=True)
    try:
        os.link(path, backup)
    except OSError:
        try:
            shutil.copy2(path, backup)
        except OSError as exc:
            backup.unlink(missing_ok=True)
            raise BuildxpyError(f"cannot keep a copy of {path}: {exc.strerror}") from None
    return backup


def _undo(done: list[tuple[Path, Path | None]]) -> None:
    for path, backup in reversed(done):
        if backup is None:
            path.unlink(missing_ok=True)
        else:
            backup.replace(path)
