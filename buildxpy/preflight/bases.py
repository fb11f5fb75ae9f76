"""What the registry serves for each base image: the platforms of an index, or the one platform a
lone image's config declares. One ``docker buildx imagetools inspect`` a base (two for a lone
image), all bases at once.

With a builder named, imagetools reads through that builder's registry settings (a registry it
reaches over plain HTTP, mirrors), as the build will.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError, ImageNotFound
from buildxpy.manifests.registry import fetch, image_config, parse_reference
from buildxpy.platforms.names import Platform
from buildxpy.preflight.matching import normalized

# Bases read at once: each is one short docker process waiting on the registry.
READERS = 8


@dataclass(frozen=True, slots=True)
class Served:
    """What the registry has under a base's reference."""

    ref: str
    platforms: tuple[Platform, ...]
    is_index: bool


@dataclass(frozen=True, slots=True)
class Unread:
    """A base the registry did not describe: missing, or the question failed."""

    ref: str
    reason: str
    not_found: bool


def read_bases(
    runner: Runner, refs: Sequence[str], builder: str | None = None
) -> dict[str, Served | Unread]:
    """Each reference's answer, in the order given."""
    if not refs:
        return {}
    with ThreadPoolExecutor(
        max_workers=min(READERS, len(refs)), thread_name_prefix="preflight"
    ) as pool:
        answers = pool.map(lambda ref: read_base(runner, ref, builder), refs)
        return dict(zip(refs, answers, strict=True))


def read_base(runner: Runner, ref: str, builder: str | None = None) -> Served | Unread:
    try:
        return served(runner, ref, builder)
    except ImageNotFound as exc:
        return Unread(ref, str(exc), not_found=True)
    except BuildxpyError as exc:
        return Unread(ref, str(exc), not_found=False)


def served(runner: Runner, ref: str, builder: str | None = None) -> Served:
    """The platforms under ``ref``; raises ``ImageNotFound`` when the registry has no such image."""
    fetched = fetch(runner, ref, builder)
    if fetched.index is not None:
        platforms = tuple(
            normalized(entry.platform.os, entry.platform.architecture, entry.platform.variant)
            for entry in fetched.index.images
            # An entry without a platform is no image of a platform (an artifact, a signature).
            if entry.platform is not None
        )
        return Served(ref, platforms, is_index=True)
    # A lone image says its platform in its config, not in its manifest: the config of the image
    # just read, not of the tag, which may have moved since.
    at = str(parse_reference(ref, what="base image").at(fetched.digest))
    config = image_config(runner, at, builder)
    platform = normalized(config.os, config.architecture, config.variant)
    return Served(ref, (platform,), is_index=False)
