"""The builder and its nodes as configured: ``[builder]``, ``[[builder.nodes]]`` and ``--node``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from buildxpy.builders.buildkitd_config import BuildkitdTable
from buildxpy.builders.description import BuilderDescription, NodeDescription
from buildxpy.errors import ConfigError
from buildxpy.settings.values import PlatformList, StrMap, dedupe

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
MAX_NAME = 100
_ENDPOINT_SCHEMES = ("unix://", "tcp://", "ssh://", "npipe://")
_SSH = r"^ssh://(?:[A-Za-z0-9_.-]+@)?[A-Za-z0-9_.-]+(?::[0-9]+)?$"


def check_name(value: str, what: str) -> str:
    if len(value) > MAX_NAME:
        # buildx names files, containers and volumes after builders and nodes.
        raise ValueError(
            f"{what} name {value[:20]}… is {len(value)} characters long; use at most {MAX_NAME}"
        )
    if not re.match(_NAME, value):
        raise ValueError(
            f"invalid {what} name {value!r}: use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit)"
        )
    return value


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str
    endpoint: str
    platforms: PlatformList = Field(default=[])
    driver_opts: StrMap = Field(default={})
    buildkitd_flags: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "node")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        value = value.strip()
        if "://" in value:
            if not value.startswith(_ENDPOINT_SCHEMES):
                raise ValueError(
                    f"unsupported endpoint {value!r}: use a docker context name, "
                    "unix://, tcp:// or ssh://user@host[:port]"
                )
            if value.startswith("ssh://") and not re.match(_SSH, value):
                raise ValueError(f"invalid ssh endpoint {value!r}: use ssh://user@host[:port]")
            return value
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$", value):
            raise ValueError(f"invalid endpoint {value!r}: not a docker context name or URL")
        return value

    _platforms = field_validator("platforms")(classmethod(lambda cls, v: dedupe(v)))

    @property
    def is_context(self) -> bool:
        return "://" not in self.endpoint


class BuilderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = "buildxpy"
    driver: Literal["docker-container", "docker", "remote", "kubernetes"] = "docker-container"
    driver_opts: StrMap = Field(default={})
    buildkitd_flags: str | None = None
    platforms: PlatformList | None = None
    nodes: list[NodeConfig] = Field(default=[])
    buildkitd_config: Path | None = None
    buildkitd: BuildkitdTable | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "builder")

    @field_validator("nodes")
    @classmethod
    def _unique_nodes(cls, nodes: list[NodeConfig]) -> list[NodeConfig]:
        names = [n.name for n in nodes]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"node names must be unique; repeated: {', '.join(duplicates)}")
        return nodes

    def description(self) -> BuilderDescription:
        """The builder as ``builders.manage.ensure_builder`` takes it."""
        nodes = tuple(
            NodeDescription(
                name=node.name,
                endpoint=node.endpoint,
                platforms=tuple(node.platforms),
                driver_opts=dict(node.driver_opts),
                buildkitd_flags=node.buildkitd_flags,
            )
            for node in self.nodes
        )
        return BuilderDescription(
            name=self.name,
            driver=self.driver,
            driver_opts=dict(self.driver_opts),
            buildkitd_flags=self.buildkitd_flags,
            nodes=nodes,
            buildkitd_config=self.buildkitd_config,
            buildkitd=self.buildkitd,
        )


def parse_node_flag(text: str) -> dict[str, Any]:
    """``NAME=ENDPOINT[;platforms=a,b][;buildkitd-flags=…][;driver-opt=k=v]``."""
    head, *options = text.split(";")
    name, eq, endpoint = head.partition("=")
    usage = f"invalid --node {text!r}: expected NAME=ENDPOINT[;platforms=a,b]"
    if not eq or not name.strip() or not endpoint.strip():
        raise ConfigError(usage)
    node: dict[str, Any] = {"name": name.strip(), "endpoint": endpoint.strip()}
    for option in options:
        key, eq, value = option.partition("=")
        key = key.strip().replace("-", "_")
        if not eq:
            raise ConfigError(usage)
        if key == "platforms":
            node["platforms"] = [p.strip() for p in value.split(",") if p.strip()]
        elif key == "buildkitd_flags":
            node["buildkitd_flags"] = value
        elif key in ("driver_opt", "driver_opts"):
            node.setdefault("driver_opts", []).append(value)
        else:
            raise ConfigError(f"invalid --node {text!r}: unknown option {key!r}")
    return node
