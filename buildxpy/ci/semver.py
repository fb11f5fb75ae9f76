"""semver.org versions as git tags carry them (``v1.2.3``, ``1.2.3-rc.1``) and their precedence."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Patterns are strings: `re` compiles each on first use and keeps it, so an import compiles none.
_NUMBER = r"0|[1-9][0-9]*"
_PRE_ID = r"0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*"
_SEMVER = (
    rf"^v?(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


@dataclass(frozen=True, slots=True)
class SemVer:  # compared through precedence, not field order
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        """``1.2.3`` or ``1.2.3-rc.1``: no leading ``v``, no build metadata."""
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.prerelease)}" if self.prerelease else core


def parse_semver(text: str) -> SemVer | None:
    """A semver.org version with an optional leading ``v``; ``None`` for anything else."""
    match = re.match(_SEMVER, text)
    if match is None:
        return None
    pre = match["pre"]
    return SemVer(
        int(match["major"]),
        int(match["minor"]),
        int(match["patch"]),
        tuple(pre.split(".")) if pre else (),
    )


def precedence(version: SemVer) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
    # semver.org §11: a release outranks its pre-releases; numeric identifiers sort below others.
    ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in version.prerelease)
    return (version.major, version.minor, version.patch, 0 if version.prerelease else 1, ids)
