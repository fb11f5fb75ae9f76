"""The named build contexts that make a build take its pinned bases: ``--build-context
REF=docker-image://REPOSITORY@DIGEST`` for each base, so the Dockerfile stays as it is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from buildxpy.errors import ConfigError
from buildxpy.manifests.registry import parse_reference
from buildxpy.pins.lockfile import Pin


def pinned_contexts(lock: Path, pins: Mapping[str, Pin], refs: Sequence[str]) -> dict[str, str]:
    """A context for each of ``refs``; a base the lock does not pin is refused (never a silent
    float), and one named by digest needs no pin."""
    contexts: dict[str, str] = {}
    missing = []
    for ref in refs:
        parsed = parse_reference(ref, what="base image")
        if parsed.digest:
            continue
        pin = pins.get(ref)
        if pin is None:
            missing.append(ref)
            continue
        contexts[ref] = f"docker-image://{parsed.repository}@{pin.digest}"
    if missing:
        raise ConfigError(f"{lock} does not pin {', '.join(missing)}: run buildxpy pin")
    return contexts
