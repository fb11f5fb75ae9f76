"""manifest-tool's YAML spec (``image``, ``tags``, ``manifests[]`` with ``image`` and ``platform``).

Such specs use a small part of YAML: block mappings and sequences, ``[a, b]`` lists, quoted and
plain scalars, comments. That part is read here so that PyYAML is not a dependency; anything
beyond it (anchors, block scalars, flow mappings) is refused with the line it is on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from buildxpy.errors import ConfigError
from buildxpy.platforms import Platform, parse

Node = str | list["Node"] | dict[str, "Node"] | None

_KEY = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_.-]*|'[^']*'|\"[^\"]*\")\s*:(?:\s+(?P<rest>.*))?$")
_UNSUPPORTED_START = ("&", "*", "!", "|", ">", "{", "%", "@", "`")


class YamlError(ConfigError):
    """The spec file is not in the YAML subset manifest-tool specs use."""


@dataclass(frozen=True)
class _Line:
    number: int
    indent: int
    text: str


def read_yaml(text: str, source: str = "<spec>") -> Node:
    """Parse the YAML subset; errors name ``source:line``."""
    lines = _logical_lines(text, source)
    if not lines:
        return None
    reader = _Reader(lines, source)
    node = reader.block(lines[0].indent)
    if reader.pos < len(lines):
        line = lines[reader.pos]
        raise reader.error(line, "unexpected indentation")
    return node


def _logical_lines(text: str, source: str) -> list[_Line]:
    out: list[_Line] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        body = _strip_comment(raw).rstrip()
        stripped = body.lstrip(" ")
        if not stripped or (not out and stripped == "---"):
            continue
        if stripped in ("---", "..."):
            raise YamlError(f"{source}:{number}: only one YAML document is supported")
        if stripped.startswith("\t") or "\t" in body[: len(body) - len(stripped)]:
            raise YamlError(f"{source}:{number}: tabs cannot indent YAML")
        out.append(_Line(number, len(body) - len(stripped), stripped))
    return out


def _strip_comment(line: str) -> str:
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


class _Reader:
    def __init__(self, lines: list[_Line], source: str) -> None:
        self.lines = lines
        self.source = source
        self.pos = 0

    def error(self, line: _Line, message: str) -> YamlError:
        return YamlError(f"{self.source}:{line.number}: {message}")

    def block(self, indent: int) -> Node:
        line = self.lines[self.pos]
        if _is_item(line.text):
            return self.sequence(indent)
        return self.mapping(indent)

    def sequence(self, indent: int, *, under_key: bool = False) -> list[Node]:
        items: list[Node] = []
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if line.indent < indent or (under_key and not _is_item(line.text)):
                # A list whose dashes line up with its key ends at the next key.
                break
            if line.indent > indent or not _is_item(line.text):
                raise self.error(line, "expected a '- ' list item at this indentation")
            rest = line.text[1:].lstrip(" ")
            if not rest:
                self.pos += 1
                items.append(self.nested(indent))
            elif _KEY.match(rest):
                # `- key: value` opens a mapping whose keys sit where `key` starts.
                inner = indent + len(line.text) - len(rest)
                self.lines[self.pos] = _Line(line.number, inner, rest)
                items.append(self.mapping(inner))
            else:
                self.pos += 1
                items.append(self.scalar_or_flow(rest, line))
        return items

    def mapping(self, indent: int) -> dict[str, Node]:
        out: dict[str, Node] = {}
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if line.indent < indent:
                break
            if line.indent > indent:
                raise self.error(line, "unexpected indentation")
            match = _KEY.match(line.text)
            if not match:
                raise self.error(line, f"expected 'key: value', got {line.text!r}")
            key = _unquote(match["key"])
            if key in out:
                raise self.error(line, f"duplicate key {key!r}")
            self.pos += 1
            rest = match["rest"]
            if rest:
                out[key] = self.scalar_or_flow(rest, line)
            else:
                out[key] = self.value_block(indent)
        return out

    def value_block(self, indent: int) -> Node:
        """The block under ``key:``: deeper lines, or a list whose dashes line up with the key."""
        if self.pos >= len(self.lines):
            return None
        line = self.lines[self.pos]
        if line.indent > indent:
            return self.block(line.indent)
        if line.indent == indent and _is_item(line.text):
            return self.sequence(indent, under_key=True)
        return None

    def nested(self, indent: int) -> Node:
        if self.pos >= len(self.lines) or self.lines[self.pos].indent <= indent:
            return None
        return self.block(self.lines[self.pos].indent)

    def scalar_or_flow(self, text: str, line: _Line) -> Node:
        if text.startswith("["):
            return self.flow_list(text, line)
        return self.scalar(text, line)

    def flow_list(self, text: str, line: _Line) -> list[Node]:
        if not text.endswith("]"):
            raise self.error(line, "a [ … ] list must close on the same line")
        body = text[1:-1].strip()
        if not body:
            return []
        return [self.scalar(item.strip(), line) for item in _split_flow(body, line, self)]

    def scalar(self, text: str, line: _Line) -> str | None:
        if text[0] in "'\"":
            return _quoted(text, line, self)
        if text.startswith(_UNSUPPORTED_START) or text.startswith(("- ", "[", "]")):
            raise self.error(line, f"unsupported YAML syntax {text!r}")
        if text in ("~", "null", "Null", "NULL"):
            return None
        return text


def _is_item(text: str) -> bool:
    return text == "-" or text.startswith("- ")


def _split_flow(body: str, line: _Line, reader: _Reader) -> list[str]:
    items, current, quote = [], "", ""
    for char in body:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[]{}":
            raise reader.error(line, "nested [ ] or { } is not supported")
        elif char == ",":
            items.append(current)
            current = ""
            continue
        current += char
    items.append(current)
    if any(not item.strip() for item in items):
        raise reader.error(line, "empty item in [ … ] list")
    return items


def _quoted(text: str, line: _Line, reader: _Reader) -> str:
    quote = text[0]
    if len(text) < 2 or not text.endswith(quote):
        raise reader.error(line, f"unterminated quoted string {text!r}")
    inner = text[1:-1]
    if quote == "'":
        if "'" in inner.replace("''", ""):
            raise reader.error(line, f"stray quote in {text!r}")
        return inner.replace("''", "'")
    if '"' in inner.replace('\\"', ""):
        raise reader.error(line, f"stray quote in {text!r}")
    if "\\" in inner.replace('\\"', "").replace("\\\\", ""):
        raise reader.error(line, f"unsupported escape in {text!r}")
    return inner.replace('\\"', '"').replace("\\\\", "\\")


def _unquote(key: str) -> str:
    return key[1:-1] if key[:1] in "'\"" else key


class SpecPlatform(BaseModel):
    model_config = ConfigDict(extra="forbid")

    os: str
    architecture: str
    variant: str | None = None
    # manifest-tool passes these through; buildx's index entries carry them from the image itself.
    features: list[str] = Field(default_factory=list)
    osversion: str | None = None
    osfeatures: list[str] = Field(default_factory=list)

    def parsed(self) -> Platform:
        return parse("/".join(p for p in (self.os, self.architecture, self.variant or "") if p))


class SpecEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: str
    platform: SpecPlatform | None = None


class ManifestSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: str
    tags: list[str] = Field(default_factory=list)
    manifests: list[SpecEntry]

    @field_validator("manifests")
    @classmethod
    def _not_empty(cls, entries: list[SpecEntry]) -> list[SpecEntry]:
        if not entries:
            raise ValueError("at least one entry is needed")
        return entries

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_list(cls, value: Any) -> Any:
        return [] if value is None else value


def load_spec(path: Path) -> ManifestSpec:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read manifest spec {path}: {exc.strerror or exc}") from None
    data = read_yaml(text, str(path))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a manifest spec is a mapping with image, tags and manifests")
    try:
        spec = ManifestSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid manifest spec: {_describe(exc)}") from None
    for number, entry in enumerate(spec.manifests, start=1):
        if entry.platform is not None:
            try:
                entry.platform.parsed()
            except ConfigError as exc:
                raise ConfigError(f"{path}: manifests[{number}]: {exc}") from None
    return spec


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(
            f"[{p + 1}]" if isinstance(p, int) else str(p) for p in error["loc"]
        ).replace(".[", "[")
        message = "unknown key" if error["type"] == "extra_forbidden" else str(error["msg"])
        problems.append(f"{where}: {message.removeprefix('Value error, ')}")
    return "; ".join(problems)
