"""Platforms as buildx reads them: ``os/arch[/variant]``, normalized the same way.

buildx reads ``--platform`` with containerd's ``platforms.Parse`` followed by ``Normalize``; this
module does the same steps with the same tables (containerd's ``database.go``), so the platform
buildxpy passes on, names a file after and compares is the one buildx builds. On top of that:

- docker-library architecture names (``arm64v8``, ``arm32v7``…, as ``docker/archs`` files spell
  them) are read first;
- a bare architecture is a Linux one (buildx would take the client's OS: ``darwin`` on a Mac);
- what any supported buildx (0.13 and later) refuses is refused here, before any docker call:
  buildx before 0.20 takes only letters, digits, ``_`` and ``-`` in a part (no ``linux/arm64/v8.2``)
  and before 0.16 no ``os(version)``;
- an operating system or architecture containerd does not know, and an ARM or x86-64 variant
  outside the known levels, are refused: buildx would build for them, an image nobody can run.
"""

from __future__ import annotations

import platform as _host
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from buildxpy.docker.input_text import utf8_error
from buildxpy.errors import ConfigError

# containerd's isKnownOS, plus the WebAssembly system interfaces Docker's Wasm workloads name.
KNOWN_OS = frozenset(
    {"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux",
     "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos", "wasi", "wasip1"}
)  # fmt: skip
# containerd's isKnownArch.
KNOWN_ARCHS = frozenset(
    {"386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64",
     "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64",
     "s390", "s390x", "sparc", "sparc64", "wasm"}
)  # fmt: skip
# docker-library's architecture names, as found in `docker/archs` files.
LIBRARY_NAMES = {
    "amd64": "linux/amd64", "arm32v5": "linux/arm/v5", "arm32v6": "linux/arm/v6",
    "arm32v7": "linux/arm/v7", "arm64v8": "linux/arm64", "i386": "linux/386",
    "mips64le": "linux/mips64le", "ppc64le": "linux/ppc64le", "riscv64": "linux/riscv64",
    "s390x": "linux/s390x", "windows-amd64": "windows/amd64",
}  # fmt: skip
# The variants a runtime can match for these architectures (after normalization: arm64/v8 and
# amd64/v1 are spelled without one). Other architectures' variants pass as buildx passes them:
# new ones are still being defined (ppc64le/power9, riscv64/rva22u64).
KNOWN_VARIANTS = {
    "arm": ("v5", "v6", "v7", "v8"),
    "arm64": ("v9",),
    "amd64": ("v2", "v3", "v4"),
}
# The variants normalization spells as none (buildx reads them, and writes them without).
_DEFAULT_VARIANTS = {"arm64": ("v8",), "amd64": ("v1",)}
# The qemu-user binary that emulates each architecture (binfmt_misc handler names).
QEMU_NAMES = {
    "amd64": "x86_64", "arm64": "aarch64", "arm64be": "aarch64_be", "arm": "arm", "armbe": "armeb",
    "386": "i386", "ppc64le": "ppc64le", "ppc64": "ppc64", "ppc": "ppc", "s390x": "s390x",
    "riscv64": "riscv64", "riscv": "riscv32", "mips64le": "mips64el", "mips64": "mips64",
    "mipsle": "mipsel", "mips": "mips", "mips64p32": "mipsn32", "mips64p32le": "mipsn32el",
    "loong64": "loongarch64", "sparc64": "sparc64", "sparc": "sparc",
}  # fmt: skip
# The parts every supported buildx accepts (0.13-0.19: no '.'; 0.20 added it for arm64/v8.2).
_PART = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, order=True, slots=True)
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


def normalize_os(os_name: str) -> str:
    """containerd's ``normalizeOS``."""
    os_name = os_name.lower()
    return "darwin" if os_name == "macos" else os_name


def normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd's ``normalizeArch``, as in buildx 0.20 and later (earlier ones lack the arm64/9
    line, and receive ``v9`` from buildxpy)."""
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):
        if variant in ("8", "v8", "v8.0"):
            return "arm64", ""
        if variant in ("9", "9.0", "v9.0"):
            return "arm64", "v9"
        return "arm64", variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            return "arm", "v7"
        if variant in ("5", "6", "8"):
            return "arm", f"v{variant}"
    return arch, variant


def parse(text: str) -> Platform:
    raw = text.strip()
    if not raw:
        raise ConfigError("empty platform")
    library = LIBRARY_NAMES.get(raw.lower())
    if library is not None:
        return Platform(*library.split("/"))
    os_name, arch, variant = _buildx_parse(raw)
    # What buildx does next: platformutil.Parse normalizes what platforms.Parse returned.
    os_name = normalize_os(os_name)
    arch, variant = normalize_arch(arch, variant)
    return _checked(raw, Platform(os_name, arch, variant))


def _buildx_parse(raw: str) -> tuple[str, str, str]:
    """containerd's ``platforms.Parse`` in the grammar every supported buildx accepts."""
    if "*" in raw:
        raise ConfigError(f"invalid platform {raw!r}: wildcards are not supported")
    parts = raw.split("/")
    if len(parts) > 3 or not all(parts):
        raise ConfigError(f"invalid platform {raw!r}: expected os/arch[/variant]")
    for part in parts:
        if not _PART.match(part):
            why = (
                "; buildx before 0.16 refuses os(version)" if "(" in part
                else "; buildx before 0.20 refuses '.'" if "." in part
                else ""
            )  # fmt: skip
            raise ConfigError(
                f"invalid platform {raw!r}: {part!r} is an invalid component "
                f"(letters, digits, '_' and '-' only{why})"
            )
    if len(parts) == 1:
        return _one_part(raw)
    os_name = normalize_os(parts[0])
    if len(parts) == 2:
        arch, variant = normalize_arch(parts[1], "")
        return os_name, arch, "" if (arch, variant) == ("arm", "v7") else variant
    arch, variant = normalize_arch(parts[1], parts[2])
    return os_name, arch, "v8" if (arch, variant) == ("arm64", "") else variant


def _one_part(raw: str) -> tuple[str, str, str]:
    """An operating system alone means this machine's architecture on it; ``local`` means this
    machine (buildx's own word); an architecture alone means Linux on it."""
    word = normalize_os(raw)
    if word in KNOWN_OS or word == "local":
        host = host_platform()
        return (host.os if word == "local" else word), host.arch, host.variant
    arch, variant = normalize_arch(raw, "")
    if arch not in KNOWN_ARCHS:
        raise ConfigError(f"unknown operating system or architecture {raw!r}")
    return "linux", arch, variant


def _checked(raw: str, platform: Platform) -> Platform:
    if platform.os not in KNOWN_OS:
        raise ConfigError(f"unknown operating system {platform.os!r} in platform {raw!r}")
    if platform.arch not in KNOWN_ARCHS:
        raise ConfigError(f"unknown architecture {platform.arch!r} in platform {raw!r}")
    known = KNOWN_VARIANTS.get(platform.arch)
    if platform.variant and known is not None and platform.variant not in known:
        spelled = (*_DEFAULT_VARIANTS.get(platform.arch, ()), *known)
        raise ConfigError(
            f"unknown variant {platform.variant!r} for architecture {platform.arch!r} in {raw!r} "
            f"(known: {', '.join(spelled)})"
        )
    return platform


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
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise utf8_error(path, exc) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
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


# `uname -m` names that are not buildx architecture names: 32-bit ARM machines say which ISA
# level they implement, and buildx spells that as a variant.
_MACHINES = {
    "armv5l": "arm/v5", "armv6l": "arm/v6", "armv7l": "arm/v7", "armv8l": "arm/v7",
    "i486": "386", "i586": "386", "i686": "386", "loongarch64": "loong64",
}  # fmt: skip


def platform_of_machine(machine: str, os_name: str = "linux") -> Platform | None:
    """``uname -m`` (or ``docker info``'s ``Architecture``) as a platform; None when unknown."""
    machine = machine.strip().lower()
    if not machine:
        return None
    arch = _MACHINES.get(machine, machine)
    try:
        return parse(f"{os_name.strip().lower() or 'linux'}/{arch}")
    except ConfigError:
        return None


def host_platform() -> Platform:
    found = platform_of_machine(_host.machine())
    if found is None:
        raise ConfigError(f"unknown architecture {_host.machine()!r} of this machine")
    return found
