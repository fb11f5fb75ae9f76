"""What a layer holds, read from its tar as a stream (gzip or plain, as the registry serves it), and
how two layers' files differ: content, mode, owner, time, type, link target, or presence."""

from __future__ import annotations

import hashlib
import tarfile
from dataclasses import dataclass
from typing import IO

from buildxpy.errors import BuildxpyError

_CHUNK = 1 << 20
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# The order a difference is named in, most telling first.
_ASPECTS = ("type", "content", "link target", "mode", "owner", "mtime")


@dataclass(frozen=True, slots=True)
class FileEntry:
    type: str
    mode: int
    owner: str
    mtime: int
    link: str
    # sha256 of a regular file's bytes; empty for everything else.
    content: str


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str
    # What differs: some of _ASPECTS, or "only in the pushed image" / "only in the rebuilt image".
    what: tuple[str, ...]


def listing(stream: IO[bytes]) -> dict[str, FileEntry]:
    """Every entry of the layer tar in ``stream``, by absolute path."""
    head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
    if head == _ZSTD_MAGIC:
        raise BuildxpyError("a zstd-compressed layer cannot be listed: compare gzip layers")
    entries: dict[str, FileEntry] = {}
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                entries[_path(member.name)] = _entry(tar, member)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BuildxpyError(f"cannot read a layer: {exc}") from None
    return entries


def _path(name: str) -> str:
    name = name.removeprefix("./").lstrip("/")
    return "/" + name.rstrip("/")


def _entry(tar: tarfile.TarFile, member: tarfile.TarInfo) -> FileEntry:
    content = ""
    if member.isfile():
        digest = hashlib.sha256()
        source = tar.extractfile(member)
        if source is not None:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
        content = digest.hexdigest()
    return FileEntry(
        type=_type(member),
        mode=member.mode,
        owner=f"{member.uid}:{member.gid}",
        mtime=int(member.mtime),
        link=member.linkname,
        content=content,
    )


def _type(member: tarfile.TarInfo) -> str:
    if member.isfile():
        return "file"
    if member.isdir():
        return "directory"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    return "special"


def differences(pushed: dict[str, FileEntry], rebuilt: dict[str, FileEntry]) -> list[FileChange]:
    """Each path whose entry differs between the two layers, in path order."""
    changes = []
    for path in sorted(pushed.keys() | rebuilt.keys()):
        if path not in rebuilt:
            changes.append(FileChange(path, ("only in the pushed image",)))
        elif path not in pushed:
            changes.append(FileChange(path, ("only in the rebuilt image",)))
        elif what := _aspects(pushed[path], rebuilt[path]):
            changes.append(FileChange(path, what))
    return changes


def _aspects(a: FileEntry, b: FileEntry) -> tuple[str, ...]:
    differ = {
        "type": a.type != b.type,
        "content": a.content != b.content,
        "link target": a.link != b.link,
        "mode": a.mode != b.mode,
        "owner": a.owner != b.owner,
        "mtime": a.mtime != b.mtime,
    }
    return tuple(aspect for aspect in _ASPECTS if differ[aspect])
