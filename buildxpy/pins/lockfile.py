"""``buildxpy.lock``: each base reference, as the Dockerfile names it, and the digest of what it
named when pinned (the index, or the lone image), with each platform's image digest.

    [bases."debian:bookworm"]
    digest = "sha256:…"
    [bases."debian:bookworm".platforms]
    "linux/amd64" = "sha256:…"
"""

from __future__ import annotations

import json
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from buildxpy.errors import ConfigError

NAME = "buildxpy.lock"
_DIGEST = r"^sha256:[0-9a-f]{64}$"
HEADER = (
    "# buildxpy.lock: the base images builds use, by digest. `buildxpy pin --update` moves them.\n"
)


@dataclass(frozen=True, slots=True)
class Pin:
    digest: str
    platforms: Mapping[str, str] = field(default_factory=dict)


def read_lock(path: Path) -> dict[str, Pin] | None:
    """The pins in ``path``; None when there is no such file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not TOML: {exc}") from None
    bases = data.get("bases", {})
    if not isinstance(bases, dict):
        raise ConfigError(f"{path}: `bases` is not a table")
    return {ref: _pin(path, ref, value) for ref, value in bases.items()}


def _pin(path: Path, ref: str, value: object) -> Pin:
    if not isinstance(value, dict) or not re.match(_DIGEST, str(value.get("digest", ""))):
        raise ConfigError(f'{path}: bases.{json.dumps(ref)} needs digest = "sha256:…"')
    platforms = value.get("platforms", {})
    if not isinstance(platforms, dict) or not all(
        isinstance(d, str) and re.match(_DIGEST, d) for d in platforms.values()
    ):
        raise ConfigError(f"{path}: bases.{json.dumps(ref)}.platforms maps platforms to digests")
    return Pin(str(value["digest"]), dict(platforms))


def write_lock(path: Path, pins: Mapping[str, Pin]) -> None:
    """All of the file or none of it: written beside, then renamed over."""
    lines = [HEADER]
    for ref in sorted(pins):
        pin = pins[ref]
        lines += ["", f"[bases.{json.dumps(ref)}]", f"digest = {json.dumps(pin.digest)}"]
        if pin.platforms:
            lines.append(f"[bases.{json.dumps(ref)}.platforms]")
            lines += [
                f"{json.dumps(p)} = {json.dumps(d)}" for p, d in sorted(pin.platforms.items())
            ]
    try:
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, prefix=".buildxpy-lock-", delete=False, encoding="utf-8"
        ) as out:
            out.write("\n".join(lines) + "\n")
        Path(out.name).replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
