"""Platforms as buildx understands them: ``os/arch[/variant]``, normalized the same way."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from buildxpy.errors import ConfigError

KNOWN_OS = frozenset(
    {"linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "illumos", "solaris",
     "aix", "android", "ios", "plan9", "js", "wasip1", "dragonfly"}
)  # fmt: skip
_ARCH_ALIASES = {
    "x86_64": "amd64", "x86-64": "amd64", "amd64": "amd64",
    "aarch64": "arm64", "arm64": "arm64",
    "i386": "386", "i486": "386", "i586": "386", "i686": "386", "386": "386",
    "armhf": "arm", "armel": "arm", "arm": "arm",
    "ppc64le": "ppc64le", "ppc64el": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
    "mips64le": "mips64le", "mips64": "mips64", "mipsle": "mipsle", "mips": "mips",
    "loong64": "loong64", "ppc64": "ppc64", "wasm": "wasm",
}  # fmt: skip
# Architectures that imply a variant when spelled this way.
_ARCH_DEFAULT_VARIANT = {"armhf": "v7", "armel": "v6"}
# docker-library's architecture names, as found in `docker/archs` files.
_LIBRARY_NAMES = {
    "amd64": "linux/amd64", "arm64v8": "linux/arm64", "arm32v7": "linux/arm/v7",
    "arm32v6": "linux/arm/v6", "arm32v5": "linux/arm/v5", "i386": "linux/386",
    "ppc64le": "linux/ppc64le", "s390x": "linux/s390x", "riscv64": "linux/riscv64",
    "mips64le": "linux/mips64le", "windows-amd64": "windows/amd64",
}  # fmt: skip
_VARIANTS = {
    "arm": re.compile(r"^v[5-8]$"),
    "arm64": re.compile(r"^v(8(\.[0-9])?|9(\.[0-9])?)$"),
    "amd64": re.compile(r"^v[1-4]$"),
}
# The qemu-user binary that emulates each architecture (binfmt_misc handler names).
QEMU_NAMES = {
    "amd64": "x86_64", "arm64": "aarch64", "arm": "arm", "386": "i386", "ppc64le": "ppc64le",
    "s390x": "s390x", "riscv64": "riscv64", "mips64le": "mips64el", "mips64": "mips64",
    "loong64": "loongarch64",
}  # fmt: skip


@dataclass(frozen=True, order=True)
class Platform:
    os: str
    arch: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.arch, self.variant) if p)

    @property
    def slug(self) -> str:
        """The file-name form: ``linux-arm-v7``."""
        return str(self).replace("/", "-")

    @property
    def qemu_name(self) -> str:
        return QEMU_NAMES.get(self.arch, self.arch)


def parse(text: str) -> Platform:
    raw = text.strip()
    lowered = raw.lower()
    if not lowered:
        raise ConfigError("empty platform")
    if lowered in _LIBRARY_NAMES and "/" not in lowered and lowered not in _ARCH_ALIASES:
        lowered = _LIBRARY_NAMES[lowered]
    parts = lowered.split("/")
    if len(parts) == 1:
        parts = ["linux", *parts]
    if len(parts) > 3 or not all(parts):
        raise ConfigError(f"invalid platform {raw!r}: expected os/arch[/variant]")
    os_name, arch_in = parts[0], parts[1]
    variant = parts[2] if len(parts) == 3 else ""
    if os_name not in KNOWN_OS:
        raise ConfigError(f"unknown operating system {os_name!r} in platform {raw!r}")
    arch = _ARCH_ALIASES.get(arch_in)
    if arch is None:
        raise ConfigError(f"unknown architecture {arch_in!r} in platform {raw!r}")
    variant = variant or _ARCH_DEFAULT_VARIANT.get(arch_in, "")
    if variant and not variant.startswith("v") and variant[0].isdigit():
        variant = f"v{variant}"
    if arch == "arm" and not variant:
        variant = "v7"
    if arch == "arm64" and variant == "v8":
        variant = ""
    if arch == "amd64" and variant == "v1":
        variant = ""
    if variant:
        pattern = _VARIANTS.get(arch)
        if pattern is None or not pattern.match(variant):
            raise ConfigError(f"unknown variant {variant!r} for architecture {arch!r} in {raw!r}")
    return Platform(os_name, arch, variant)


def parse_list(values: Iterable[str]) -> list[Platform]:
    """Parse comma lists (repeatable flags), dropping duplicates while keeping order."""
    seen: dict[Platform, None] = {}
    for value in values:
        for item in value.split(","):
            if item.strip():
                seen.setdefault(parse(item), None)
    return list(seen)


def read_archs(path: Path) -> list[Platform]:
    """Read a ``docker/archs`` file: one platform a line, ``#`` comments, docker-library names."""
    items = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        try:
            items.append(parse(item))
        except ConfigError as exc:
            raise ConfigError(f"{path}:{number}: {exc}") from None
    if not items:
        raise ConfigError(f"{path} names no platform")
    return parse_list(str(p) for p in items)
