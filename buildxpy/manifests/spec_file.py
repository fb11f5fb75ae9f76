"""manifest-tool's YAML spec, read and checked the way manifest-tool reads and checks it.

manifest-tool decodes a spec with Go's yaml.v3 into plain structs, which sets the rules here:

- keys are the lowercase field names, matched exactly: ``image``, ``tags``, ``annotations``,
  ``manifests[].image`` and ``manifests[].platform`` with ``architecture``, ``os``, ``variant``,
  ``osversion`` and ``osfeatures``; any other key is ignored (``features``, ``os.version``, …);
- every value lands in a string, so a plain ``386`` or ``1.10`` is the text as written;
- null is "not given", a key given twice is an error, anchors and merge keys work, and only the
  first document of the file counts.

PyYAML composes the document (a dependency of buildxpy's own) and the nodes are
read here with those rules, so no scalar ever goes through a number on the way.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from buildxpy import log
from buildxpy.errors import ConfigError

if TYPE_CHECKING:
    from yaml import Node, SafeLoader

_NULL = "tag:yaml.org,2002:null"

# Go's ports (`go tool dist list`): the names manifest-tool accepts for os and architecture.
_GO_OS = frozenset(
    {"aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js", "linux",
     "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows"}
)  # fmt: skip
_GO_ARCH = frozenset(
    {"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64",
     "ppc64le", "riscv64", "s390x", "wasm"}
)  # fmt: skip
# manifest-tool accepts a variant only on these two.
_GO_VARIANTS = {"linux/arm": frozenset({"v5", "v6", "v7"}), "linux/arm64": frozenset({"v8"})}


class SpecPlatform(BaseModel):
    os: str = ""
    architecture: str = ""
    variant: str = ""
    osversion: str = ""
    osfeatures: list[str] = Field(default=[])

    @property
    def declared(self) -> bool:
        return bool(self.os or self.architecture or self.variant)


class SpecEntry(BaseModel):
    image: str = ""
    platform: SpecPlatform = Field(default_factory=SpecPlatform)


class ManifestSpec(BaseModel):
    image: str = ""
    tags: list[str] = Field(default=[])
    manifests: list[SpecEntry] = Field(default=[])
    annotations: dict[str, str] = Field(default={})


def load_spec(path: Path) -> ManifestSpec:
    """The spec at ``path`` as manifest-tool sees it; YAML and type errors name ``path:line``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read manifest spec {path}: {exc.strerror or exc}") from None
    return read_spec(_decode(data, str(path)), str(path))


def read_spec(text: str, source: str = "<spec>") -> ManifestSpec:
    # Imported here, not at the top: only a spec needs it, and it costs every other command time.
    import yaml

    try:
        # The reader refuses control characters as soon as it is made.
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_problem(exc, text, source)) from None
    try:
        node = loader.get_node() if loader.check_node() else None
        reader = _Reader(loader, source)
        fields = reader.fields(node, "", _SPEC)
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_problem(exc, text, source)) from None
    finally:
        loader.dispose()
    if reader.ignored:
        log.get().debug("manifest spec keys ignored", spec=source, keys=reader.ignored)
    return ManifestSpec.model_validate(fields)


def _decode(data: bytes, source: str) -> str:
    # yaml.v3 reads UTF-8, or UTF-16 when a byte-order mark says so; a UTF-8 mark is skipped.
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    try:
        return data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        name = "UTF-16" if utf16 else "UTF-8"
        raise ConfigError(
            f"{source}:{line}: not {name} text (byte 0x{data[exc.start]:02x}); save the spec as UTF-8"
        ) from None


def _yaml_problem(exc: Exception, text: str, source: str) -> str:
    from yaml import MarkedYAMLError
    from yaml.reader import ReaderError

    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}" if mark else ""
        return f"{source}{where}: invalid YAML: {exc.problem or exc.context or 'unreadable'}"
    if isinstance(exc, ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return f"{source}:{line}: invalid YAML: character U+{int(exc.character):04X} is not allowed"
    return f"{source}: invalid YAML: {exc}"


_Field = Callable[["_Reader", "Node", str], Any]


class _Reader:
    """Nodes into the spec's fields, the way yaml.v3 fills Go structs."""

    def __init__(self, loader: SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.ignored: list[str] = []
        self.seen: set[int] = set()

    def fields(self, node: Node | None, where: str, schema: Mapping[str, _Field]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.pairs(node, where):
            path = f"{where}.{key}" if where else key
            read = schema.get(key)
            if read is None:
                self.ignored.append(path)
            else:
                out[key] = read(self, value, path)
        return out

    def pairs(self, node: Node | None, where: str) -> list[tuple[str, Node]]:
        from yaml import MappingNode, ScalarNode

        if node is None or _is_null(node):
            return []
        if not isinstance(node, MappingNode):
            raise self.wrong(node, where, "a mapping")
        if id(node) not in self.seen:
            # An alias reaches the same node twice; it is checked and merged once.
            self.seen.add(id(node))
            self.refuse_repeats(node, where)
            self.loader.flatten_mapping(node)
        out = []
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise self.wrong(key, where, "text keys")
            if not _is_null(key):
                out.append((str(key.value), value))
        return out

    def items(self, node: Node, where: str) -> list[Node]:
        from yaml import SequenceNode

        if _is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            raise self.wrong(node, where, "a list")
        # yaml.v3 leaves null items out of a Go slice.
        return [item for item in node.value if not _is_null(item)]

    def text(self, node: Node, where: str) -> str:
        from yaml import ScalarNode

        if _is_null(node):
            return ""
        if not isinstance(node, ScalarNode):
            raise self.wrong(node, where, "text")
        # The scalar as written: yaml.v3 stores the source text in a string field whatever
        # the value would resolve to, so `1.10` stays "1.10" and `386` stays "386".
        return str(node.value)

    def refuse_repeats(self, node: Node, where: str) -> None:
        first: dict[str, int] = {}
        for key, _ in node.value:
            if not isinstance(key.value, str):
                continue
            line = key.start_mark.line + 1
            if key.value in first:
                name = f"{where}.{key.value}" if where else key.value
                raise ConfigError(
                    f"{self.source}:{line}: {name} is given twice (first on line {first[key.value]})"
                )
            first[key.value] = line

    def wrong(self, node: Node, where: str, wanted: str) -> ConfigError:
        from yaml import MappingNode, SequenceNode

        found = (
            "a mapping" if isinstance(node, MappingNode)
            else "a list" if isinstance(node, SequenceNode) else f"text {node.value!r}"
        )  # fmt: skip
        line = node.start_mark.line + 1
        return ConfigError(
            f"{self.source}:{line}: {where or 'a spec'} must be {wanted}, not {found}"
        )


def _is_null(node: Node) -> bool:
    return node.tag == _NULL and not isinstance(node.value, list)


def _text(reader: _Reader, node: Node, where: str) -> str:
    return reader.text(node, where)


def _texts(reader: _Reader, node: Node, where: str) -> list[str]:
    return [
        reader.text(item, f"{where}[{number}]")
        for number, item in enumerate(reader.items(node, where), start=1)
    ]


def _text_map(reader: _Reader, node: Node, where: str) -> dict[str, str]:
    return {key: reader.text(value, f"{where}.{key}") for key, value in reader.pairs(node, where)}


def _platform(reader: _Reader, node: Node, where: str) -> dict[str, Any]:
    return reader.fields(node, where, _PLATFORM)


def _entries(reader: _Reader, node: Node, where: str) -> list[dict[str, Any]]:
    return [
        reader.fields(item, f"{where}[{number}]", _ENTRY)
        for number, item in enumerate(reader.items(node, where), start=1)
    ]


_PLATFORM: dict[str, _Field] = {
    "architecture": _text, "os": _text, "variant": _text, "osversion": _text, "osfeatures": _texts,
}  # fmt: skip
_ENTRY: dict[str, _Field] = {"image": _text, "platform": _platform}
_SPEC: dict[str, _Field] = {
    "image": _text, "tags": _texts, "manifests": _entries, "annotations": _text_map,
}  # fmt: skip


def check_declared(number: int, platform: SpecPlatform) -> None:
    """What manifest-tool refuses in an entry's platform, refused before any registry call."""
    where = f"manifests[{number}].platform"
    if bool(platform.os) != bool(platform.architecture):
        # manifest-tool only completes a platform that names neither, then from the image.
        raise ConfigError(f"{where}: give both os and architecture, or neither")
    if platform.os and platform.os not in _GO_OS:
        raise ConfigError(f"{where}: unknown os {platform.os!r}")
    if platform.architecture and platform.architecture not in _GO_ARCH:
        raise ConfigError(f"{where}: unknown architecture {platform.architecture!r}")
    if platform.os and platform.variant:
        check_variant(where, platform.os, platform.architecture, platform.variant)


def check_variant(where: str, os_name: str, arch: str, variant: str) -> None:
    if variant not in _GO_VARIANTS.get(f"{os_name}/{arch}", ()):
        raise ConfigError(
            f"{where}: variant {variant!r} is not one manifest-tool accepts for {os_name}/{arch} "
            "(linux/arm: v5, v6, v7; linux/arm64: v8)"
        )
