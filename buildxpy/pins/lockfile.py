"""``buildxpy.lock``: each base reference, as the Dockerfile names it, and the digest of what it
named when pinned (the index, or the lone image), with each platform's image digest.

    [bases."debian:bookworm"]
    digest = "sha256:…"
    [bases."debian:bookworm".platforms]
    "linux/amd64" = "sha256:…"
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from buildxpy.errors import ConfigError
from buildxpy.file_install import install, scratch_beside

NAME = "buildxpy.lock"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_PLATFORM = re.compile(r"[a-z0-9_.-]+/[a-z0-9_.-]+(/[a-z0-9_.-]+)?")
_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column \d+\)$")
HEADER = (
    "# buildxpy.lock: the base images builds use, by digest. `buildxpy pin --update` moves them.\n"
)


@dataclass(frozen=True, slots=True)
class Pin:
    digest: str
    platforms: Mapping[str, str] = field(default_factory=dict)


def read_lock(path: Path) -> dict[str, Pin] | None:
    """The pins in ``path``; None when there is no such file. A malformed lock is one line
    naming the file and, where it can be told, the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_WHERE.search(message)
        line = int(where[1]) if where else None
        raise _malformed(path, line, f"not TOML: {_TOML_WHERE.sub('', message)}") from None
    unknown = sorted(set(data) - {"bases"})
    if unknown:
        raise _malformed(path, _line_of(text, unknown[0]), f"unknown key {unknown[0]!r}")
    bases = data.get("bases", {})
    if not isinstance(bases, dict):
        raise _malformed(path, _line_of(text, "bases"), "`bases` is not a table")
    return {ref: _pin(path, text, ref, value) for ref, value in bases.items()}


def _pin(path: Path, text: str, ref: str, value: object) -> Pin:
    def bad(message: str) -> ConfigError:
        return _malformed(path, _line_of(text, ref), f"bases.{json.dumps(ref)}{message}")

    if not isinstance(value, dict):
        raise bad(" is not a table")
    if unknown := sorted(set(value) - {"digest", "platforms"}):
        raise bad(f" has an unknown key {unknown[0]!r}")
    if not _DIGEST.fullmatch(str(value.get("digest", ""))):
        raise bad(' needs digest = "sha256:<64 hex digits>"')
    platforms = value.get("platforms", {})
    if not isinstance(platforms, dict) or not all(
        _PLATFORM.fullmatch(p) and isinstance(d, str) and _DIGEST.fullmatch(d)
        for p, d in platforms.items()
    ):
        raise bad('.platforms maps "os/arch[/variant]" to "sha256:…"')
    return Pin(str(value["digest"]), dict(platforms))


def _line_of(text: str, key: str) -> int | None:
    # TOML has many spellings of a key; the first line that names it is where a reader looks.
    bare = re.compile(rf"\s*\[*\s*{re.escape(key)}\s*[.=\]]")
    quoted = (json.dumps(key), f"'{key}'")
    for number, line in enumerate(text.splitlines(), 1):
        if bare.match(line) or any(q in line for q in quoted):
            return number
    return None


def _malformed(path: Path, line: int | None, message: str) -> ConfigError:
    where = f"{path}:{line}" if line is not None else str(path)
    return ConfigError(f"{where}: {message}")


def render_lock(pins: Mapping[str, Pin]) -> str:
    lines = [HEADER.rstrip("\n")]
    for ref in sorted(pins):
        pin = pins[ref]
        lines += ["", f"[bases.{json.dumps(ref)}]", f"digest = {json.dumps(pin.digest)}"]
        if pin.platforms:
            lines.append(f"[bases.{json.dumps(ref)}.platforms]")
            lines += [
                f"{json.dumps(p)} = {json.dumps(d)}" for p, d in sorted(pin.platforms.items())
            ]
    return "\n".join(lines) + "\n"


def write_lock(path: Path, pins: Mapping[str, Pin]) -> None:
    """All of the file or none of it: written beside, then renamed over; an earlier lock stays
    as it was when anything fails."""
    try:
        with scratch_beside(path) as scratch:
            scratch.write_text(render_lock(pins), encoding="utf-8")
            # mkstemp's file is private; a lock is read by everyone who builds the project.
            scratch.chmod(0o666 & ~_umask())
            install([(scratch, path)])
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
