"""Which files a container of an image executes first, worked out from the image config and the
heads of files read from the image, without running anything.

Pure: ``resolve(config, files)`` either names the files it still needs (``Need``) or returns the
chain of files ``exec`` would run (``Resolution``): the entrypoint, found on the config's ``PATH``
when it is a bare name, then the ``#!`` interpreters of scripts, and for ``#!/usr/bin/env NAME``
the program ``NAME`` on ``PATH`` too. The caller reads the files (``buildxpy.verify``) with
symlinks already followed inside the image, and calls again until it gets a ``Resolution``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Literal

from buildxpy.docker.models import ContainerConfig
from buildxpy.platforms.elf import ElfError, ElfHeader, read_elf, shebang

# What docker (and containerd, and podman) use when the image's Env sets no PATH.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SHELL = "/bin/sh"
# How many bytes of each executable are kept: the ELF header and the kernel's #! line fit.
HEAD_SIZE = 256
# Linux gives up on a script whose interpreter is a script whose... after this many levels.
MAX_SCRIPT_DEPTH = 4
# ... and on a path after this many symlinks (ELOOP).
MAX_SYMLINKS = 40

EntryKind = Literal["file", "dir", "symlink", "other"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One name in an image's file system, as its tar export lists it."""

    kind: EntryKind
    head: bytes = b""  # a file's first HEAD_SIZE bytes (executables only)
    executable: bool = False
    target: str = ""  # a symlink's target, as written

    @property
    def runnable(self) -> bool:
        return self.kind == "file" and self.executable


@dataclass(frozen=True, slots=True)
class Found:
    path: str  # where the file really is, every symlink followed
    entry: Entry
    links: tuple[str, ...] = ()  # the symlinks followed on the way, as "link -> target"


@dataclass(frozen=True, slots=True)
class Missing:
    reason: str = "no such file"


class Unknown:
    """Not yet seen in a file system still being read."""


UNKNOWN = Unknown()
Lookup = Found | Missing | Unknown


def _key(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("/") if part)


class ImageTree:
    """An image's root file system as far as it has been read, with the kernel's path lookup.

    Entries arrive in the order ``tar`` lists them: depth first, names sorted. While that order
    holds, a path that sorts before the last entry and was not among them is known missing, so a
    lookup can be decided before the end of the stream.
    """

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {"/": Entry("dir")}
        self.complete = False
        self._position: tuple[str, ...] = ()
        self._ordered = True

    def add(self, path: str, entry: Entry) -> None:
        key = _key(path)
        if key < self._position:
            self._ordered = False
        self._position = key
        # A tar stream may leave out directories it implies.
        for depth in range(1, len(key)):
            self.entries.setdefault("/" + "/".join(key[:depth]), Entry("dir"))
        self.entries["/" + "/".join(key)] = entry

    def finish(self) -> None:
        self.complete = True

    def _absent(self, path: str) -> bool:
        return self.complete or (self._ordered and _key(path) < self._position)

    def lookup(self, path: str) -> Lookup:
        """Resolve ``path`` as exec would: every symlink followed inside the image's root."""
        todo = list(_key(path))
        current: tuple[str, ...] = ()
        links: list[str] = []
        while todo:
            part = todo.pop(0)
            if part == ".":
                continue
            if part == "..":
                current = current[:-1]
                continue
            candidate = "/" + "/".join((*current, part))
            entry = self.entries.get(candidate)
            if entry is None:
                return Missing() if self._absent(candidate) else UNKNOWN
            if entry.kind == "symlink":
                if len(links) >= MAX_SYMLINKS:
                    return Missing("too many levels of symbolic links")
                links.append(f"{candidate} -> {entry.target}")
                if entry.target.startswith("/"):
                    current = ()
                todo[0:0] = list(_key(entry.target))
                continue
            if todo and entry.kind != "dir":
                return Missing("not a directory")
            current = (*current, part)
        found = "/" + "/".join(current)
        return Found(found, self.entries[found], tuple(links))


@dataclass(frozen=True, slots=True)
class Step:
    """One file exec runs on the way to the program: a script, its interpreter, env's program."""

    path: str  # as asked for: the entrypoint, a #! line, a PATH entry
    real: str  # where it is, symlinks followed
    what: str  # "ELF 64-bit LSB x86_64", "#!/bin/sh script", ...
    elf: ElfHeader | None = None
    # Set when the file starts like ELF but its header cannot be read.
    error: str | None = None

    @property
    def shown(self) -> str:
        """``/bin/sh -> /bin/busybox``: the path, and where it leads when that differs."""
        return self.path if self.real == self.path else f"{self.path} -> {self.real}"

    def __str__(self) -> str:
        return f"{self.shown} ({self.what})"


@dataclass(frozen=True, slots=True)
class Resolution:
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()

    @property
    def elf_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.elf is not None)

    @property
    def binary(self) -> Step | None:
        """The binary that finally runs: the last ELF of the chain."""
        elfs = self.elf_steps
        return elfs[-1] if elfs else None


@dataclass(frozen=True, slots=True)
class Need:
    """The file system has not been read far enough to decide these paths."""

    paths: tuple[str, ...]


def command(config: ContainerConfig) -> list[str]:
    """The argv a container starts with: the entrypoint followed by cmd, or cmd alone."""
    return [*config.entrypoint, *config.cmd]


def search_path(config: ContainerConfig) -> list[str]:
    """The directories a bare command name is looked up in, in order. An empty entry means the
    working directory, as execvp reads it."""
    value = None
    for item in config.env:
        key, eq, rest = item.partition("=")
        if eq and key == "PATH":
            value = rest  # the last one wins, as in the environment the container gets
    workdir = _workdir(config)
    dirs = (DEFAULT_PATH if value is None else value).split(":")
    return list(dict.fromkeys(_absolute(d or ".", workdir) for d in dirs))


def candidates(name: str, config: ContainerConfig) -> list[str]:
    """Where ``name`` may be: itself when it has a slash (relative to the working directory),
    else each PATH directory's entry of that name."""
    if "/" in name:
        return [_absolute(name, _workdir(config))]
    return [posixpath.join(d, name) for d in search_path(config)]


def resolve(config: ContainerConfig, tree: ImageTree) -> Resolution | Need:
    """The files exec runs for this image, as far as ``tree`` tells."""
    argv = command(config)
    notes: list[str] = []
    if not argv:
        notes.append("no entrypoint or cmd")
    else:
        found = _locate(argv[0], config, tree, on_path=True)
        if isinstance(found, Need):
            return found
        if found is None:
            notes.append(f"entrypoint {argv[0]!r} not found in the image")
        else:
            chain = _chain(found, config, tree)
            if isinstance(chain, Need):
                return chain
            steps, chain_notes = chain
            if any(s.elf is not None or s.error for s in steps):
                return Resolution(tuple(steps), tuple(chain_notes))
            notes += chain_notes
    # Nothing to check from the entrypoint: the shell is what `docker run IMAGE sh` would use.
    shell = _locate(SHELL, config, tree, on_path=False)
    if isinstance(shell, Need):
        return shell
    if shell is None:
        return Resolution((), (*notes, f"no {SHELL} either"))
    chain = _chain(shell, config, tree)
    if isinstance(chain, Need):
        return chain
    steps, chain_notes = chain
    return Resolution(tuple(steps), (*notes, f"checked {SHELL} instead", *chain_notes))


def _chain(
    first: tuple[str, Found], config: ContainerConfig, tree: ImageTree
) -> tuple[list[Step], list[str]] | Need:
    """From one runnable file through its interpreters to the first ELF binaries."""
    steps: list[Step] = []
    notes: list[str] = []
    # (name, looked up on PATH): what is still to run after the current file.
    pending: list[tuple[str, bool]] = []
    current: tuple[str, Found] | None = first
    depth = 0
    while current is not None:
        step, interpreter = _step(*current)
        steps.append(step)
        if interpreter is not None:
            depth += 1
            if depth > MAX_SCRIPT_DEPTH:
                notes.append(f"more than {MAX_SCRIPT_DEPTH} levels of #! scripts: gave up")
                break
            pending[0:0] = interpreter
        elif step.elf is None and step.error is None:
            notes.append(f"{step.shown} is neither an ELF binary nor a #! script")
        if not pending:
            break
        name, on_path = pending.pop(0)
        located = _locate(name, config, tree, on_path=on_path)
        if isinstance(located, Need):
            return located
        if located is None:
            place = "on PATH" if on_path else "in the image"
            notes.append(f"{name!r}, which {step.shown} needs, is not found {place}")
        current = located
    return steps, notes


def _step(path: str, found: Found) -> tuple[Step, list[tuple[str, bool]] | None]:
    head = found.entry.head
    try:
        header = read_elf(head)
    except ElfError as exc:
        return Step(path, found.path, "unreadable ELF", error=str(exc)), None
    if header is not None:
        return Step(path, found.path, header.describe(), header), None
    line = shebang(head)
    if line is None:
        return Step(path, found.path, "not ELF, no #! line"), None
    what = f"#!{line.interpreter}" + (f" {line.argument}" if line.argument else "") + " script"
    # The kernel runs the interpreter by its path (relative to the working directory when it
    # has no slash, never from PATH); env then looks its program up on PATH.
    then = [(line.interpreter if "/" in line.interpreter else f"./{line.interpreter}", False)]
    if line.command is not None:
        then.append((line.command, True))
    return Step(path, found.path, what), then


def _locate(
    name: str, config: ContainerConfig, tree: ImageTree, *, on_path: bool
) -> tuple[str, Found] | Need | None:
    """The file exec would run for ``name`` (the path it was found under, and the file): the
    first runnable candidate, as execvp takes it."""
    names = candidates(name, config) if on_path else [_absolute(name, _workdir(config))]
    for i, path in enumerate(names):
        found = tree.lookup(path)
        if isinstance(found, Unknown):
            return Need(tuple(names[i:]))
        if isinstance(found, Found) and found.entry.runnable:
            return path, found
    return None


def _workdir(config: ContainerConfig) -> str:
    return _absolute(config.working_dir or "/", "/")


def _absolute(path: str, cwd: str) -> str:
    """``path`` against ``cwd``, normalised; ``..`` cannot climb above the image's root."""
    joined = posixpath.normpath(posixpath.join("/", cwd, path))
    return "/" + joined.lstrip("/")
