"""Answers a preflight may reuse: what a base served when it last had every platform a build
wanted. A build run again minutes later (the edit-build loop, a Makefile's targets) asks the
registry nothing; a base whose answer fell short is always asked again, so a platform pushed since
is never refused from memory. Bases named by digest cannot change and are kept longer.

The file lives beside buildx's builder store (``$DOCKER_CONFIG/buildxpy``); any trouble with it
only means asking the registry."""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from buildxpy.builders.state import docker_config_dir
from buildxpy.docker.runner import Runner
from buildxpy.platforms.names import Platform, parse
from buildxpy.preflight.bases import Served

TAG_SECONDS = 600.0
DIGEST_SECONDS = 30 * 24 * 3600.0


def store(runner: Runner) -> Path:
    return docker_config_dir(runner) / "buildxpy" / "preflight.json"


def recall(path: Path, builder: str | None, refs: list[str]) -> dict[str, Served]:
    """What is still fresh among ``refs``."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    now = time.time()
    found: dict[str, Served] = {}
    for ref in refs:
        entry = data.get(_key(builder, ref)) if isinstance(data, dict) else None
        if not isinstance(entry, dict):
            continue
        with contextlib.suppress(KeyError, TypeError, ValueError):
            if entry["until"] > now:
                platforms = tuple(parse(text) for text in entry["platforms"])
                found[ref] = Served(ref, platforms, is_index=bool(entry["index"]))
    return found


def remember(path: Path, builder: str | None, answers: Mapping[str, Served]) -> None:
    if not answers:
        return
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    now = time.time()
    data = {k: v for k, v in data.items() if isinstance(v, dict) and v.get("until", 0) > now}
    for ref, served in answers.items():
        data[_key(builder, ref)] = {
            "platforms": [str(p) for p in served.platforms],
            "index": served.is_index,
            "until": now + (DIGEST_SECONDS if "@sha256:" in ref else TAG_SECONDS),
        }
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole or not at all: builds running at once each read a complete file.
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as out:
            json.dump(data, out)
        Path(out.name).replace(path)


def covers(served: Served, wanted: tuple[Platform, ...]) -> bool:
    from buildxpy.preflight.matching import serves

    return all(serves(served.platforms, platform) for platform in wanted)


def _key(builder: str | None, ref: str) -> str:
    return f"{builder or ''} {ref}"
