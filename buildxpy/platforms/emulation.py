"""Which platforms a machine runs itself and which need QEMU: the one place these facts live.

The host's platform, a daemon's platform from ``docker info``, the nativeness rule and the
binfmt_misc handlers are all here, so ``doctor``, ``qemu install`` and ``builder setup`` agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from buildxpy.platforms.names import Platform

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")


def runs_natively(host: Platform, target: Platform) -> bool:
    """Whether ``host`` executes ``target``'s binaries without QEMU."""
    if host.os != target.os:
        return False
    if host.arch == target.arch:
        # An arm/v6 machine can't run arm/v7 code; amd64 micro-architecture levels are not
        # checked (buildx lists v2-v4 on any amd64 daemon).
        return host.arch != "arm" or target.variant <= host.variant
    # x86-64 CPUs run 32-bit x86 code themselves. Many arm64 CPUs run 32-bit ARM too, but not all
    # (no aarch32 on several server and Apple cores), so arm on arm64 is counted as emulated.
    return host.arch == "amd64" and target.arch == "386"


def needing_qemu(host: Platform, targets: Iterable[Platform]) -> list[Platform]:
    """The Linux targets this host runs only through a QEMU binfmt_misc handler."""
    return [t for t in dict.fromkeys(targets) if t.os == "linux" and not runs_natively(host, t)]


def emulated_platforms(
    configured: Iterable[Platform], natives: Iterable[Platform]
) -> list[Platform]:
    hosts = list(natives)
    return [p for p in dict.fromkeys(configured) if not any(runs_natively(h, p) for h in hosts)]


@dataclass(frozen=True, slots=True)
class Handler:
    """One binfmt_misc registration."""

    name: str
    enabled: bool
    interpreter: str
    flags: str

    @property
    def fix_binary(self) -> bool:
        # Without F the kernel opens the interpreter lazily, inside each container, where the
        # host's qemu binary does not exist.
        return "F" in self.flags


def read_handlers(binfmt_dir: Path = BINFMT_DIR) -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    if not binfmt_dir.is_dir():
        return handlers
    for entry in sorted(binfmt_dir.iterdir()):
        if entry.name in ("register", "status"):
            continue
        try:
            text = entry.read_bytes().decode(errors="replace")
        except OSError:
            continue
        lines = text.splitlines()
        fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
        handlers[entry.name] = Handler(
            name=entry.name,
            enabled=bool(lines) and lines[0].strip() == "enabled",
            interpreter=fields.get("interpreter", ""),
            flags=fields.get("flags:", "").strip(),
        )
    return handlers


def find_handler(target: Platform, handlers: dict[str, Handler]) -> Handler | None:
    qemu = target.qemu_name
    exact = handlers.get(f"qemu-{qemu}")
    if exact:
        return exact
    # Other installers name the handler differently but point it at the same emulator binary.
    pattern = re.compile(rf"qemu-{re.escape(qemu)}(-static)?(\b|[-_])")
    for handler in handlers.values():
        if pattern.search(Path(handler.interpreter).name) or pattern.search(handler.name):
            return handler
    return None
