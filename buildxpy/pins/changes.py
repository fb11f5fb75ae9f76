"""What ``buildxpy pin`` does to a lock, as plain values: the pins to write and what changed
(``add_missing``, ``update``), and what ``--check`` finds (``check``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from buildxpy.errors import BuildxpyError
from buildxpy.pins.lockfile import Pin


@dataclass(frozen=True, slots=True)
class Outcome:
    pins: dict[str, Pin]  # the whole lock, as it is to be written
    added: tuple[str, ...] = ()
    moved: Mapping[str, str] = field(default_factory=dict)  # ref -> the digest it was pinned at
    dropped: tuple[str, ...] = ()


def add_missing(pinned: Mapping[str, Pin], current: Mapping[str, Pin]) -> Outcome:
    """Every pin kept as it is (another target or Dockerfile may use it), ``current`` added."""
    added = tuple(sorted(ref for ref in current if ref not in pinned))
    return Outcome({**pinned, **{ref: current[ref] for ref in added}}, added=added)


def update(pinned: Mapping[str, Pin], current: Mapping[str, Pin]) -> Outcome:
    """The lock of ``current`` alone: what the registry serves now for the bases in use."""
    moved = {
        ref: pinned[ref].digest
        for ref in sorted(current)
        if ref in pinned and pinned[ref].digest != current[ref].digest
    }
    return Outcome(
        dict(current),
        added=tuple(sorted(ref for ref in current if ref not in pinned)),
        moved=moved,
        dropped=tuple(sorted(ref for ref in pinned if ref not in current)),
    )


@dataclass(frozen=True, slots=True)
class Finding:
    ref: str
    status: str  # "holds", "moved", "not pinned" or "unreadable"
    locked: str | None = None
    now: str | None = None
    reason: str | None = None

    def line(self) -> str:
        if self.status == "moved":
            return f"{self.ref} moved (locked {short(self.locked)}, now {short(self.now)})"
        if self.status == "not pinned":
            return f"{self.ref} is not pinned (run buildxpy pin)"
        return f"{self.reason}"


def check(
    pinned: Mapping[str, Pin], now: Mapping[str, Pin | BuildxpyError], refs: Sequence[str]
) -> list[Finding]:
    """Each base of the Dockerfile against the lock: a base the lock lacks is not asked of the
    registry; one whose tag now names another digest moved."""
    findings = []
    for ref in refs:
        pin, answer = pinned.get(ref), now.get(ref)
        if pin is None:
            findings.append(Finding(ref, "not pinned"))
        elif isinstance(answer, BuildxpyError) or answer is None:
            findings.append(Finding(ref, "unreadable", pin.digest, reason=str(answer)))
        elif answer.digest != pin.digest:
            findings.append(Finding(ref, "moved", pin.digest, answer.digest))
        else:
            findings.append(Finding(ref, "holds", pin.digest, answer.digest))
    return findings


def short(digest: str | None) -> str:
    # sha256: and 12 hex digits, as docker shows image IDs: enough to tell two apart by eye.
    return f"{(digest or '')[:19]}…"
