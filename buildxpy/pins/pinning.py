"""Pinning and checking a lock: what ``buildxpy pin`` and ``buildxpy.pin`` do with the bases a
Dockerfile names (found by the caller) and the registry's answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError
from buildxpy.pins.lockfile import Pin, read_lock, write_lock
from buildxpy.pins.resolve import resolve


@dataclass(frozen=True, slots=True)
class Pinned:
    lock: Path
    pins: Mapping[str, Pin]
    # What the lock held before, for the bases it held.
    before: Mapping[str, Pin] = field(default_factory=dict)

    @property
    def moved(self) -> list[str]:
        return [r for r, p in self.pins.items() if r in self.before and self.before[r] != p]


def pin(
    runner: Runner, refs: Sequence[str], lock: Path, builder: str | None, *, update: bool = False
) -> Pinned:
    """Write ``lock``: the bases it lacks added, the others kept (``update``: all read again,
    bases no longer named dropped)."""
    before = dict(read_lock(lock) or {})
    keep = {} if update else {r: before[r] for r in refs if r in before}
    pins = {**keep, **resolve(runner, [r for r in refs if r not in keep], builder)}
    if not runner.dry_run:
        write_lock(lock, pins)
    return Pinned(lock, pins, before)


def check(runner: Runner, refs: Sequence[str], lock: Path, builder: str | None) -> None:
    """Raise naming every base that moved since it was pinned, or that the lock lacks."""
    pinned = read_lock(lock) or {}
    now = resolve(runner, refs, builder)
    problems = []
    for ref in refs:
        if ref not in pinned:
            problems.append(f"{ref} is not pinned (run buildxpy pin)")
        elif pinned[ref].digest != now[ref].digest:
            problems.append(f"{ref} moved (locked {pinned[ref].digest[:19]}…, "
                            f"now {now[ref].digest[:19]}…)")  # fmt: skip
    if problems:
        raise BuildxpyError(f"pin --check: {'; '.join(problems)}")
