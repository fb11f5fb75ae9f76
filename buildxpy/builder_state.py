"""What buildxpy remembers about the builders it manages, and the lock that serialises changes."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from buildxpy import log


class BuilderState(BaseModel):
    """What buildxpy remembers about a builder it manages, next to buildx's own store."""

    contexts: dict[str, str] = Field(default_factory=dict)  # contexts it created -> docker host
    natives: dict[str, str] = Field(default_factory=dict)  # node endpoint -> daemon platform


@contextlib.contextmanager
def builder_lock(config_dir: Path, name: str) -> Iterator[None]:
    """Serialises everything that changes one builder, across processes (``make -j``)."""
    path = config_dir / "buildxpy" / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
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
    return config_dir / "buildxpy" / "builders" / f"{name}.json"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(state.model_dump_json(indent=2) + "\n")
    partial.replace(path)
