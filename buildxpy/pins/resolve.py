"""What each base names in the registry now: its digest and each platform's image digest, read
through docker (``imagetools inspect --raw``, with the builder's registry settings), all at once."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from buildxpy.docker.runner import Runner
from buildxpy.manifests.registry import fetch, normalized
from buildxpy.pins.lockfile import Pin

READERS = 8


def resolve(runner: Runner, refs: Sequence[str], builder: str | None) -> dict[str, Pin]:
    if not refs:
        return {}
    with ThreadPoolExecutor(max_workers=min(READERS, len(refs)), thread_name_prefix="pin") as pool:
        return dict(zip(refs, pool.map(lambda ref: _pin(runner, ref, builder), refs), strict=True))


def _pin(runner: Runner, ref: str, builder: str | None) -> Pin:
    fetched = fetch(runner, ref, builder)
    if fetched.index is None:
        return Pin(fetched.digest)
    platforms = {
        normalized(entry.platform.text): entry.digest
        for entry in fetched.index.images
        if entry.platform is not None
    }
    return Pin(fetched.digest, platforms)
