"""The builder to make, as plain values: its name, driver, options, buildkitd configuration and
nodes. The configuration (``[builder]``, ``--node``) is read into one; ``manage.ensure_builder``
takes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from buildxpy.builders.buildkitd_config import BuildkitdTable
from buildxpy.platforms.names import Platform


@dataclass(frozen=True, slots=True)
class NodeDescription:
    name: str
    # A docker context name, or a URL (unix://, tcp://, ssh://).
    endpoint: str
    platforms: tuple[Platform, ...] = ()
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    buildkitd_flags: str | None = None

    @property
    def is_context(self) -> bool:
        return "://" not in self.endpoint


@dataclass(frozen=True, slots=True)
class BuilderDescription:
    name: str = "buildxpy"
    driver: str = "docker-container"
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    buildkitd_flags: str | None = None
    nodes: tuple[NodeDescription, ...] = ()
    buildkitd_config: Path | None = None
    buildkitd: BuildkitdTable | None = None
