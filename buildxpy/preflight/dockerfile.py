"""A Dockerfile read as far as its base images go: the global ``ARG``s, and each stage's ``FROM``
and the other stages or images it copies or mounts from. Text only: nothing is substituted here
(``words``) and no stage is chosen (``plan``).

It reads what BuildKit's parser reads: the ``escape`` parser directive, lines continued with the
escape character, comment and blank lines (also inside a continuation), and here-documents, whose
bodies are not instructions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

_DIRECTIVE = re.compile(r"^#[ \t]*([A-Za-z][A-Za-z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_HEREDOC = re.compile(r"^\d*<<(-?)([^<]+)$")
_HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})


@dataclass(frozen=True, slots=True)
class GlobalArg:
    """An ``ARG`` before the first ``FROM``: what ``FROM`` lines may use."""

    name: str
    # As written, quotes and variables still in it; None when the ARG has no default.
    default: str | None


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    line: int
    # The words as written: variables are replaced only once the build's values are known.
    base: str
    name: str | None = None  # lowercased, as BuildKit compares stage names
    platform: str | None = None  # FROM --platform
    # `COPY --from=` and `RUN --mount=…,from=` values: a stage's name or index, or an image.
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Dockerfile:
    escape: str
    args: tuple[GlobalArg, ...]
    stages: tuple[Stage, ...]


@dataclass(frozen=True, slots=True)
class _Instruction:
    line: int
    keyword: str
    rest: str


def parse_dockerfile(text: str) -> Dockerfile:
    lines = text.removeprefix("\ufeff").splitlines()
    escape = _escape(lines)
    args: list[GlobalArg] = []
    stages: list[Stage] = []
    for instruction in _instructions(lines, escape):
        if instruction.keyword == "FROM":
            stages.append(_from(len(stages), instruction))
        elif not stages:
            if instruction.keyword == "ARG":
                args += _args(instruction.rest, escape)
        elif source := _sources(instruction):
            stages[-1] = replace(stages[-1], sources=(*stages[-1].sources, *source))
    return Dockerfile(escape, tuple(args), tuple(stages))


def _escape(lines: list[str]) -> str:
    """The ``# escape=`` directive's character; directives end at the first other line."""
    seen: set[str] = set()
    escape = "\\"
    for line in lines:
        match = _DIRECTIVE.match(line)
        if match is None or match[1].lower() in seen:
            break
        seen.add(match[1].lower())
        if match[1].lower() == "escape" and match[2] in ("\\", "`"):
            escape = match[2]
    return escape


def _instructions(lines: list[str], escape: str) -> Iterator[_Instruction]:
    continued = re.compile(re.escape(escape) + r"[ \t]*$")
    numbered = iter(enumerate(lines, start=1))
    parts: list[str] = []
    first = 0
    for number, line in numbered:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # BuildKit drops these inside a continuation too
        if not parts:
            first = number
        if end := continued.search(line):
            parts.append(line[: end.start()])
            continue
        parts.append(line)
        instruction, parts = _joined(first, parts), []
        if instruction is not None:
            yield instruction
            _skip_heredocs(instruction, numbered)
    # The file may end inside a continuation.
    if (instruction := _joined(first, parts)) is not None:
        yield instruction


def _joined(line: int, parts: list[str]) -> _Instruction | None:
    words = "".join(parts).split(None, 1)
    if not words:
        return None
    return _Instruction(line, words[0].upper(), words[1] if len(words) > 1 else "")


def _skip_heredocs(instruction: _Instruction, numbered: Iterator[tuple[int, str]]) -> None:
    """Consume the bodies of the instruction's here-documents: a body line is no instruction."""
    if instruction.keyword not in _HEREDOC_KEYWORDS:
        return
    for word in instruction.rest.split():
        match = _HEREDOC.match(word)
        if match is None:
            continue
        chomp, terminator = match[1] == "-", match[2].strip("'\"")
        for _, line in numbered:
            if (line.lstrip("\t") if chomp else line).rstrip() == terminator:
                break


def _from(index: int, instruction: _Instruction) -> Stage:
    words = instruction.rest.split()
    flags = _flags(words)
    words = words[len(flags) :]
    name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
    return Stage(index, instruction.line, words[0] if words else "", name, flags.get("platform"))


def _flags(words: list[str]) -> dict[str, str]:
    """The ``--name=value`` flags in front of an instruction's arguments."""
    flags: dict[str, str] = {}
    for word in words:
        if not word.startswith("--"):
            break
        name, _, value = word[2:].partition("=")
        flags.setdefault(name.lower(), value)
    return flags


def _sources(instruction: _Instruction) -> tuple[str, ...]:
    words = instruction.rest.split()
    if instruction.keyword == "COPY":
        source = _flags(words).get("from")
        return (source,) if source else ()
    if instruction.keyword != "RUN":
        return ()
    found: list[str] = []
    for word in words:
        if not word.startswith("--"):
            break
        if word.startswith("--mount="):
            fields = dict(item.partition("=")[::2] for item in word[8:].split(","))
            if fields.get("from"):
                found.append(fields["from"])
    return tuple(found)


def _args(rest: str, escape: str) -> list[GlobalArg]:
    found = []
    for word in _split_words(rest, escape):
        name, equals, default = word.partition("=")
        found.append(GlobalArg(name, default if equals else None))
    return found


def _split_words(text: str, escape: str) -> list[str]:
    """Words split at blanks outside quotes; quotes and escapes stay for ``words.expand``."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    chars = iter(text)
    for char in chars:
        if char == escape and quote != "'":
            current += [char, next(chars, "")]
        elif char in "'\"" and quote in ("", char):
            quote = "" if quote else char
            current.append(char)
        elif char.isspace() and not quote:
            if current:
                words.append("".join(current))
            current = []
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words
