"""What each base names in the registry now: its digest and each platform's image digest, read
through docker (``imagetools inspect --raw``, with the builder's registry settings), all at once."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from buildxpy.docker.runner import Runner
from buildxpy.errors import BuilderNotFound, BuildxpyError
from buildxpy.manifests.registry import fetch, image_platform, normalized, parse_reference
from buildxpy.pins.lockfile import Pin

READERS = 8


def resolve(
    runner: Runner, refs: Sequence[str], builder: str | None, *, optional_builder: bool = False
) -> dict[str, Pin]:
    """Each base's pin; one line naming every base that could not be read otherwise."""
    answers = read_each(runner, refs, builder, optional_builder=optional_builder)
    # One missing builder fails every read the same way: said once.
    failed = list(dict.fromkeys(str(a) for a in answers.values() if isinstance(a, BuildxpyError)))
    if failed:
        raise BuildxpyError(f"cannot pin: {'; '.join(failed)}")
    return {ref: answer for ref, answer in answers.items() if isinstance(answer, Pin)}


def read_each(
    runner: Runner, refs: Sequence[str], builder: str | None, *, optional_builder: bool = False
) -> dict[str, Pin | BuildxpyError]:
    """Each base's pin, or why it could not be read. ``optional_builder``: a builder that does
    not exist yet (the default name before ``builder setup``) is read without."""
    answers = _read_all(runner, refs, builder)
    if optional_builder and any(isinstance(a, BuilderNotFound) for a in answers.values()):
        answers = _read_all(runner, refs, None)
    return answers


def _read_all(
    runner: Runner, refs: Sequence[str], builder: str | None
) -> dict[str, Pin | BuildxpyError]:
    if not refs:
        return {}
    with ThreadPoolExecutor(max_workers=min(READERS, len(refs)), thread_name_prefix="pin") as pool:
        answers = pool.map(lambda ref: _answer(runner, ref, builder), refs)
        return dict(zip(refs, answers, strict=True))


def _answer(runner: Runner, ref: str, builder: str | None) -> Pin | BuildxpyError:
    try:
        return read_pin(runner, ref, builder)
    except BuildxpyError as exc:
        return exc


def read_pin(runner: Runner, ref: str, builder: str | None = None) -> Pin:
    fetched = fetch(runner, ref, builder)
    if fetched.index is None:
        # A lone image says its platform in its config: one more read (of what was just read, not
        # of the tag, which may have moved since), so builds can check its platform from the lock.
        at = str(parse_reference(ref, what="base image").at(fetched.digest))
        return Pin(fetched.digest, {image_platform(runner, at, builder): fetched.digest})
    platforms = {
        normalized(entry.platform.text): entry.digest
        for entry in fetched.index.images
        if entry.platform is not None
    }
    return Pin(fetched.digest, platforms)
