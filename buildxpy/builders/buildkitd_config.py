"""buildkitd configuration for a builder: a file (``builder.buildkitd_config``) or the inline
``[builder.buildkitd]`` table written out as one, handed to ``docker buildx create
--buildkitd-config``, and compared with what buildx stored so that a changed configuration is
noticed.

buildx does not store the file as given: it reads it when the node is created, copies every CA,
key and certificate file it names into the node's ``Files`` (``certs/REGISTRY/NAME``), points the
configuration at those copies and writes the TOML out again with its own encoder. So the two are
compared as documents, each file path replaced by the digest of the file's content.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from buildxpy.errors import ConfigError

CONFIG_NAME = "buildkitd.toml"
# Where buildx puts the files a configuration names, inside the BuildKit container.
CONTAINER_CONFIG_DIR = "/etc/buildkit/"
# Patterns are strings: `re` compiles each on first use and keeps it, so an import compiles none.
_REGISTRY = (
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$"
)
_MIRROR = r"^(?:https?://)?[A-Za-z0-9\[][A-Za-z0-9.:\[\]-]*(?:/[A-Za-z0-9._/-]*)?$"
HEADER = "# Written by buildxpy from [builder.buildkitd]: change that table, not this file.\n"


class RegistryTable(BaseModel):
    """One ``[registry."HOST[:PORT]"]`` section of buildkitd.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    mirrors: list[str] = Field(default=[])
    # Plain HTTP, and TLS without verifying the certificate: what a registry under a name other
    # than localhost needs when it has no certificate a builder trusts.
    http: bool | None = None
    insecure: bool | None = None
    ca: list[str] = Field(default=[])

    @field_validator("mirrors")
    @classmethod
    def _mirrors(cls, mirrors: list[str]) -> list[str]:
        for mirror in mirrors:
            if not re.match(_MIRROR, mirror):
                raise ValueError(f"invalid registry mirror {mirror!r}: expected HOST[:PORT][/PATH]")
        return mirrors


class BuildkitdTable(BaseModel):
    """The inline ``[builder.buildkitd]`` table: the buildkitd.toml settings CI builders need."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    debug: bool | None = None
    max_parallelism: int | None = Field(default=None, ge=1)
    registry: dict[str, RegistryTable] = Field(default={})

    @field_validator("registry")
    @classmethod
    def _registry_names(cls, registry: dict[str, RegistryTable]) -> dict[str, RegistryTable]:
        for name in registry:
            if not re.match(_REGISTRY, name):
                raise ValueError(f"invalid registry name {name!r}: expected HOST[:PORT]")
        return registry


@dataclass(frozen=True, slots=True)
class BuildkitdFile:
    """The file passed to buildx, and what buildx will have stored from it."""

    path: str
    fingerprint: str


def render(table: BuildkitdTable, base: Path) -> str:
    """buildkitd.toml for ``table``; relative CA paths are taken from ``base``."""
    lines = [HEADER.rstrip("\n")]
    if table.debug is not None:
        lines.append(f"debug = {_toml(table.debug)}")
    if table.max_parallelism is not None:
        lines += ["", "[worker.oci]", f"  max-parallelism = {table.max_parallelism}"]
    for name, registry in table.registry.items():
        lines += ["", f"[registry.{_toml(name)}]"]
        if registry.mirrors:
            lines.append(f"  mirrors = {_toml(registry.mirrors)}")
        if registry.http is not None:
            lines.append(f"  http = {_toml(registry.http)}")
        if registry.insecure is not None:
            lines.append(f"  insecure = {_toml(registry.insecure)}")
        if registry.ca:
            lines.append(f"  ca = {_toml([str(base / path) for path in registry.ca])}")
    return "\n".join(lines) + "\n"


def prepare(
    config_path: Path | None, table: BuildkitdTable | None, state_dir: Path, builder: str
) -> BuildkitdFile | None:
    """The configuration file for ``builder``: the one configured, or the inline table written to
    ``state_dir/buildkitd/BUILDER.toml`` (only when its content changes, atomically)."""
    if config_path is not None and table is not None:
        raise ConfigError(
            "builder.buildkitd_config and [builder.buildkitd] both given: use one of them"
        )
    if table is not None:
        config_path = state_dir / "buildkitd" / f"{builder}.toml"
        _write_if_changed(config_path, render(table, Path.cwd()))
    if config_path is None:
        return None
    return BuildkitdFile(str(config_path), desired_fingerprint(config_path))


def desired_fingerprint(path: Path) -> str:
    """What buildx will store from the file at ``path``, as a comparable string."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"buildkitd config {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"buildkitd config {path} is not valid TOML: {exc}") from None
    return _fingerprint(document, lambda name: _read_named_file(path, name))


def stored_fingerprint(files: Mapping[str, bytes]) -> str | None:
    """The same for a node's stored ``Files``; ``None`` when the node has no configuration."""
    text = files.get(CONFIG_NAME)
    if text is None:
        return None
    try:
        document = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return "unreadable"

    def read(name: str) -> bytes:
        return files.get(name.removeprefix(CONTAINER_CONFIG_DIR), b"")

    return _fingerprint(document, read)


def _fingerprint(document: dict[str, Any], read: Any) -> str:
    registries = document.get("registry")
    if isinstance(registries, dict):
        for section in registries.values():
            if not isinstance(section, dict):
                continue
            if isinstance(section.get("ca"), list):
                section["ca"] = [_digest(read(str(name))) for name in section["ca"]]
            pairs = section.get("keypair")
            if isinstance(pairs, list):
                section["keypair"] = [
                    {k: _digest(read(str(pair[k]))) for k in ("key", "cert") if pair.get(k)}
                    for pair in pairs
                    if isinstance(pair, dict)
                ]
    return json.dumps(document, sort_keys=True, default=str)


def _read_named_file(config: Path, name: str) -> bytes:
    # buildx reads these relative to its working directory, as given.
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"buildkitd config {config}: cannot read {name}: {exc.strerror or exc}"
        ) from None


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _write_if_changed(path: Path, text: str) -> None:
    try:
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot write the buildkitd config {path}: {exc.strerror}") from None


def _toml(value: object) -> str:
    """A TOML value: JSON's string escapes are TOML's (ASCII output keeps it so)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=True)
