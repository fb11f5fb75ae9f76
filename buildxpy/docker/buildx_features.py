"""Which buildx flags the installed buildx knows, for the few buildxpy passes that not every
supported buildx has (``build --annotation``, ``build --call``/``--check``: the first buildx of
each is in its declaration, ``builds.buildx_inputs``).

Nothing is asked on the way in: a build with these flags runs as is, and only when buildx refuses
one is the version looked at, so the usual build stays one docker process.
"""

from __future__ import annotations

import re

from buildxpy.docker.runner import Runner
from buildxpy.errors import CommandFailed, ConfigError

# Patterns are strings: `re` compiles each on first use and keeps it, so an import compiles none.
_VERSION = r"\bv?(\d+)\.(\d+)(?:\.(\d+))?"


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``github.com/docker/buildx v0.13.1 788433…``, ``… 0.13.1+ds1 0.13.1+ds1-3`` (Debian),
    ``… v0.20.1-desktop.2 …``: the first version after the module path."""
    words = text.split()
    rest = " ".join(words[1:]) if words and "buildx" in words[0] else text
    match = re.search(_VERSION, rest)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def buildx_version(runner: Runner) -> tuple[int, int, int] | None:
    result = runner.run("buildx", "version", check=False)
    return parse_version(result.stdout) if result.exit_code == 0 else None


def refused_flag(
    runner: Runner, exc: CommandFailed, flag: str, since: tuple[int, int] | None
) -> bool:
    """Whether buildx failed because it does not know ``flag`` (which came in buildx ``since``).
    buildx's own message says so; when its output went straight to a terminal, its version does."""
    if any(f"unknown flag: {flag}" in line for line in exc.stderr_tail):
        return True
    if exc.stderr_tail:
        return False
    version = buildx_version(runner)
    return version is not None and since is not None and version[:2] < since


def require(runner: Runner, what: str, since: tuple[int, int] | None) -> None:
    """Refuse, before building, what this buildx cannot do (``what`` came in buildx ``since``; an
    unknown version is given a try)."""
    if since is None:
        return
    version = buildx_version(runner)
    if version is not None and version[:2] < since:
        have = ".".join(map(str, version))
        raise ConfigError(
            f"{what} needs buildx {since[0]}.{since[1]} or later; this buildx is {have}"
        )


def version_text(version: tuple[int, int, int] | None) -> str:
    return ".".join(map(str, version)) if version else "unknown"
