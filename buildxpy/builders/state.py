"""What buildxpy remembers about the builders it manages, and the lock that serialises changes."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import Field, ValidationError

from buildxpy import log
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError
from buildxpy.result_model import ResultModel

# Builder names become file names here; longer ones (which settings refuse, but a name given to
# `builder rm` is not checked) are shortened with a hash so no name is too long for the system.
_FILE_STEM_MAX = 120


def docker_config_dir(runner: Runner) -> Path:
    """Where docker keeps its configuration, buildx's builder store among it."""
    configured = runner.env.get("DOCKER_CONFIG") or os.environ.get("DOCKER_CONFIG")
    return Path(configured) if configured else Path.home() / ".docker"


class BuilderState(ResultModel):
    """What buildxpy remembers about a builder it manages, next to buildx's own store."""

    contexts: dict[str, str] = Field(default={})  # contexts it created -> docker host
    natives: dict[str, str] = Field(default={})  # node endpoint -> daemon platform


@contextlib.contextmanager
def builder_lock(config_dir: Path, name: str) -> Iterator[None]:
    """Serialises everything that changes one builder, across processes (``make -j``)."""
    path = config_dir / "buildxpy" / "locks" / f"{_stem(name)}.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError as exc:
        raise _unwritable(config_dir, exc) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.get().info("waiting for another buildxpy changing this builder", builder=name)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def state_path(config_dir: Path, name: str) -> Path:
    return config_dir / "buildxpy" / "builders" / f"{_stem(name)}.json"


def load_state(config_dir: Path, name: str) -> BuilderState:
    path = state_path(config_dir, name)
    try:
        return BuilderState.model_validate_json(path.read_text())
    except FileNotFoundError:
        return BuilderState()
    except (OSError, ValidationError):
        log.get().warning("ignoring an unreadable builder state file", path=str(path))
        return BuilderState()


def save_state(config_dir: Path, name: str, state: BuilderState) -> None:
    path = state_path(config_dir, name)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(state.model_dump_json(indent=2) + "\n")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise _unwritable(config_dir, exc) from None


def _stem(name: str) -> str:
    if len(name.encode()) <= _FILE_STEM_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{name[: _FILE_STEM_MAX - 17]}-{digest}"


def _unwritable(config_dir: Path, exc: OSError) -> BuildxpyError:
    return BuildxpyError(f"cannot write to DOCKER_CONFIG ({config_dir}): {exc.strerror}")
