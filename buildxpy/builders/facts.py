"""What buildx says about builders: ``buildx ls``, its node store, docker contexts, the current
builder, and what a failed buildx command meant."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, computed_field

from buildxpy.builders.drivers import DOCKER_DRIVER
from buildxpy.builders.plan import (
    ActualBuilder,
    DesiredBuilder,
    actual_from,
    load_instance,
)
from buildxpy.builders.state import BuilderState
from buildxpy.docker import models as docker_json
from buildxpy.docker.models import load_json
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError
from buildxpy.result_model import ResultModel

if TYPE_CHECKING:
    from buildxpy.docker.models import LsBuilder


class Node(ResultModel):
    name: str
    endpoint: str
    status: str
    buildkit: str | None = None
    platforms: list[str] = Field(default=[])
    driver_opts: dict[str, str] = Field(default={})
    buildkitd_flags: list[str] = Field(default=[])
    native: str | None = None
    error: str | None = None


class Builder(ResultModel):
    name: str
    driver: str
    current: bool = False
    nodes: list[Node] = Field(default=[])
    error: str | None = None
    # Configured platforms no node runs natively: built under QEMU.
    emulated: list[str] = Field(default=[])
    # The mutating docker commands setup ran (or, under --dry-run, printed).
    commands: list[str] = Field(default=[])

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> str:
        if self.error:
            return "error"
        states = {n.status for n in self.nodes}
        return states.pop() if len(states) == 1 else "mixed" if states else "unknown"


def ls_entries(runner: Runner) -> dict[str, LsBuilder]:
    return {builder.name: builder for builder in list_builders(runner)}


def actual_builder(config_dir: Path, entry: LsBuilder | None) -> ActualBuilder | None:
    """The builder as buildx stores it; its store file gives the configured platforms, which ``ls``
    replaces with the worker's once a node runs."""
    if entry is None:
        return None
    instance = config_dir / "buildx" / "instances" / entry.name
    if entry.driver != DOCKER_DRIVER and instance.is_file():
        with contextlib.suppress(OSError, ValueError, BuildxpyError):
            return load_instance(instance.read_text())
    return actual_from(entry)


def to_builder(entry: LsBuilder) -> Builder:
    return Builder(
        name=entry.name,
        driver=entry.driver,
        error=entry.err or None,
        nodes=[
            Node(
                name=node.name,
                endpoint=node.endpoint,
                status=node.status or ("error" if node.err else "unknown"),
                buildkit=node.version or None,
                platforms=list(node.platforms),
                driver_opts=dict(node.driver_opts),
                buildkitd_flags=list(node.flags),
                error=node.err or None,
            )
            # A builder that failed to load lists a nameless node for each configured one.
            for node in entry.nodes
            if node.name
        ],
    )


def planned_builder(desired: DesiredBuilder) -> Builder:
    """What a dry run would have made."""
    return Builder(
        name=desired.name,
        driver=desired.driver,
        nodes=[
            Node(
                name=n.name,
                endpoint=n.host or n.endpoint or "",
                status="planned",
                platforms=list(n.platforms),
                driver_opts=dict(n.driver_opts),
                buildkitd_flags=list(n.flags),
            )
            for n in desired.nodes
        ],
    )


def current_builder(config_dir: Path) -> str:
    """The builder `docker buildx use` selected; buildx's default is the current context's."""
    try:
        current = load_json(
            docker_json.BuildxCurrent, (config_dir / "buildx" / "current").read_text(), what=""
        )
    except (OSError, BuildxpyError):
        current = docker_json.BuildxCurrent()
    return current.name or os.environ.get("DOCKER_CONTEXT") or "default"


def known_contexts(
    runner: Runner, desired: DesiredBuilder, actual: ActualBuilder | None, state: BuilderState
) -> dict[str, str]:
    """Docker contexts the plan needs to know about. Contexts buildxpy made and recorded are
    trusted while the builder still uses them, so a setup with nothing to do asks docker once."""
    wanted = {n.endpoint: n.host for n in desired.nodes if n.host and n.endpoint}
    if not wanted:
        return {}
    stored = {n.endpoint for n in actual.nodes} if actual else set()
    if all(state.contexts.get(ctx) == host and ctx in stored for ctx, host in wanted.items()):
        return dict(state.contexts)
    result = runner.run("context", "ls", "--format", "json")
    return {c.name: c.docker_endpoint for c in docker_json.parse_context_ls(result.stdout)}


def contexts_used_elsewhere(listed: Mapping[str, LsBuilder], builder: str) -> set[str]:
    """Context names other builders' nodes run on (never removed with this builder)."""
    used = set()
    for name, entry in listed.items():
        if name == builder or entry.driver == DOCKER_DRIVER:
            continue
        used |= {node.endpoint for node in entry.nodes}
    return used


def list_builders(runner: Runner) -> list[LsBuilder]:
    return docker_json.parse_ls(runner.run("buildx", "ls", "--format", "json").stdout)
