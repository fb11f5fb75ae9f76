"""Whether an image serves a platform, decided as BuildKit decides which image of an index it
pulls: containerd's ``platforms.Only``.

Both sides are normalized first (``arm64/v8`` is ``arm64``, ``amd64/v1`` is ``amd64``, ``arm`` is
``arm/v7``), so a platform without a variant takes an image with none or with the default one.
Then a platform also takes what it can run:

- ``amd64/vN`` takes ``amd64`` at a lower level, and any ``amd64`` takes ``386``;
- ``arm/vN`` takes ``arm`` down to ``v5``;
- ``arm64`` (``v8``) takes ``arm/v8`` down to ``arm/v5``; ``arm64/v9`` takes ``arm64`` (``v8``)
  and ``arm/v9`` down to ``arm/v5``.

BuildKit pulls the ``386`` or ``arm`` image in those cases and builds on (a warning at most), so a
base that has one is no reason to stop a build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from buildxpy.platforms.names import Platform, normalize_arch, normalize_os

_LEVEL = re.compile(r"v(\d+)")


def normalized(os_name: str, arch: str, variant: str = "") -> Platform:
    """containerd's ``Normalize`` of what an index entry or an image config declares."""
    arch, variant = normalize_arch(arch, variant)
    return Platform(normalize_os(os_name), arch, variant)


def acceptable(platform: Platform) -> tuple[Platform, ...]:
    """The image platforms a build for ``platform`` pulls, best first (containerd's
    ``platformVector``, each normalized as its matcher normalizes it)."""
    found: dict[Platform, None] = {}
    for os_name, arch, variant in _vector(platform.os, platform.arch, platform.variant):
        found.setdefault(normalized(os_name, arch, variant))
    return tuple(found)


def serves(available: Iterable[Platform], platform: Platform) -> bool:
    wanted = set(acceptable(platform))
    return any(normalized(p.os, p.arch, p.variant) in wanted for p in available)


def _vector(os_name: str, arch: str, variant: str) -> list[tuple[str, str, str]]:
    vector = [(os_name, arch, variant)]
    level = _level(variant)
    if arch == "amd64":
        vector += [(os_name, "amd64", f"v{n}") for n in range(level - 1, 0, -1)]
        vector.append((os_name, "386", ""))
    elif arch == "arm":
        vector += [(os_name, "arm", f"v{n}") for n in range(level - 1, 4, -1)]
    elif arch == "arm64":
        if level == 9:
            # v9.0 follows v8.5: a v9 machine runs what v8.0 to v8.5 machines run.
            vector += [(os_name, "arm64", f"v8.{minor}") for minor in range(5, 0, -1)]
            vector.append((os_name, "arm64", "v8"))
        vector += _vector(os_name, "arm", f"v{level or 8}")
    return vector


def _level(variant: str) -> int:
    """``v7`` is 7; no variant, or one that is no plain level, is 0."""
    match = _LEVEL.fullmatch(variant)
    return int(match[1]) if match else 0
