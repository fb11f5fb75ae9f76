"""Read a pushed image's file system through docker, without running it or pulling it into the
local image store.

One ``docker buildx build`` per image: its Dockerfile is ``FROM --platform=P REPO@DIGEST`` and its
output ``type=tar,dest=-``, the image's root file system as a tar stream on stdout. The stream is
read as it comes (names, modes, symlink targets, and the first bytes of each executable) and the
build is stopped as soon as the caller has what it needs. Nothing is written to disk but the
one-line Dockerfile; only the builder's cache keeps the layers it fetched.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from buildxpy import log
from buildxpy.builders.missing import builder_not_found
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuilderNotFound, BuildxpyError, CommandFailed
from buildxpy.verification.entrypoint import HEAD_SIZE, Entry, ImageTree

# How often (in tar entries) the caller is asked whether it has seen enough.
CHECK_EVERY = 32
ATTEMPTS = 2


class ReadFailed(BuildxpyError):
    """docker could not read the image's files (registry, builder, network)."""


def dockerfile(image: str, platform: str | None) -> str:
    return f"FROM {f'--platform={platform} ' if platform else ''}{image}\n"


def export_argv(builder: str, context: Path) -> list[str]:
    return [
        "buildx", "build", "--builder", builder, "--progress", "plain",
        "--provenance=false", "--sbom=false",
        "--file", str(context / "Dockerfile"), "--output", "type=tar,dest=-",
        str(context),
    ]  # fmt: skip


def read_tree(
    runner: Runner,
    builder: str,
    image: str,
    platform: str | None,
    *,
    enough: Callable[[ImageTree], bool],
) -> ImageTree:
    """``image``'s file system, read until ``enough(tree)`` says so (or to its end)."""
    scratch = Path(tempfile.mkdtemp(prefix="buildxpy-verify-"))
    try:
        (scratch / "Dockerfile").write_text(dockerfile(image, platform))
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return runner.consume(
                    *export_argv(builder, scratch), reader=lambda out: read_tar(out, enough)
                )
            except CommandFailed as exc:
                failure = _failure(builder, image, exc)
                if isinstance(failure, BuilderNotFound) or attempt == ATTEMPTS:
                    raise failure from None
                # Reading changes nothing, so a second try is safe; an engine whose content
                # store is being cleaned up by another client has failed a first one.
                log.get().warning("reading the image's files failed; trying again",
                                  image=image, reason=failure.message)  # fmt: skip
        raise AssertionError("unreachable")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def read_tar(stream: IO[bytes], enough: Callable[[ImageTree], bool]) -> ImageTree:
    """Fill an ImageTree from a tar stream, stopping as soon as ``enough`` is satisfied."""
    tree = ImageTree()
    try:
        archive = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115
    except tarfile.ReadError:
        # No tar at all (an empty stream from a failed build): the exit code tells why.
        tree.finish()
        return tree
    with archive:
        for count, member in enumerate(archive, 1):
            path = _path(member.name)
            if path == "/":
                continue
            tree.add(path, _entry(archive, member, tree))
            if count % CHECK_EVERY == 0 and enough(tree):
                return tree
    tree.finish()
    return tree


def _entry(archive: tarfile.TarFile, member: tarfile.TarInfo, tree: ImageTree) -> Entry:
    if member.isdir():
        return Entry("dir")
    if member.issym():
        return Entry("symlink", target=member.linkname)
    if member.islnk():
        # A hard link names an earlier member: the same file under another name.
        return tree.entries.get(_path(member.linkname), Entry("other"))
    if member.isreg():
        executable = bool(member.mode & 0o111)
        head = b""
        if executable:
            handle = archive.extractfile(member)
            head = handle.read(HEAD_SIZE) if handle is not None else b""
        return Entry("file", head=head, executable=executable)
    return Entry("other")


def _path(name: str) -> str:
    """A tar member's name as an absolute path: ``./bin/sh``, ``bin/sh`` and ``bin/`` alike."""
    return "/" + name.removeprefix("./").strip("/")


def _failure(builder: str, image: str, exc: CommandFailed) -> BuildxpyError:
    if any(f'no builder "{builder}" found' in line for line in exc.stderr_tail):
        return builder_not_found(builder)
    lines = [line.strip() for line in exc.stderr_tail if line.strip()]
    reason = lines[-1].removeprefix("ERROR: ") if lines else f"exit code {exc.exit_code}"
    return ReadFailed(f"cannot read the files of {image} with builder {builder!r}: {reason}",
                      details=lines[:-1])  # fmt: skip
