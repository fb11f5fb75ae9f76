"""The facts the routing rule needs, gathered with as few docker calls as the answer allows.

Configured platforms come from buildx's own store (``$DOCKER_CONFIG/buildx/instances/NAME``, no
process); each node's own platform from ``docker info`` on its endpoint, asked once and then kept in
buildxpy's builder state; what running workers report from ``buildx ls``, asked only when buildx
itself would ask (some platform is not among the configured ones). A builder without a stored node
group is a docker context on the ``docker`` driver: one node, the engine, whose own platform is the
daemon's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildxpy import log
from buildxpy.builders.drivers import DOCKER_DRIVER, NON_DOCKER_DRIVERS
from buildxpy.builders.missing import builder_not_found
from buildxpy.builders.routing import RouteNode, RoutingPlan, plan_routes, uses_workers
from buildxpy.builders.state import (
    BuilderState,
    builder_lock,
    docker_config_dir,
    load_state,
    save_state,
)
from buildxpy.docker import models as docker_json
from buildxpy.docker.models import load_json
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError
from buildxpy.platforms.names import Platform, parse

if TYPE_CHECKING:
    from buildxpy.builders.plan import ActualBuilder


def routing_plan(
    runner: Runner, builder: str, platforms: Sequence[Platform], *, separately: bool = False
) -> RoutingPlan:
    config_dir = docker_config_dir(runner)
    stored = stored_builder(config_dir, builder)
    state = load_state(config_dir, builder)
    known = dict(state.natives)
    if stored is None:
        nodes = [docker_driver_node(runner, builder, state)]
        driver = DOCKER_DRIVER
    else:
        nodes = [
            RouteNode.model_construct(
                name=n.name, endpoint=n.endpoint, configured=list(n.platforms)
            )
            for n in stored.nodes
        ]
        driver = stored.driver
        # A remote or kubernetes node's own platform is known only from what it reports.
        if driver in NON_DOCKER_DRIVERS or _needs_workers(nodes, platforms, separately=separately):
            nodes = with_reported(runner, builder, nodes)
        nodes = [_with_native(runner, driver, node, state) for node in nodes]
    if state.natives != known and not runner.dry_run:
        remember_natives(config_dir, builder, state.natives)
    return plan_routes(builder, driver, nodes, platforms, separately=separately)


def stored_builder(config_dir: Path, name: str) -> ActualBuilder | None:
    path = config_dir / "buildx" / "instances" / name
    if not path.is_file():
        return None
    # Builders' own modules load only for a builder buildx stores (not a docker context).
    from buildxpy.builders.plan import load_instance

    try:
        return load_instance(path.read_text())
    except (OSError, BuildxpyError) as exc:
        raise BuildxpyError(f"cannot read buildx's stored builder {path}: {exc}") from None


def docker_driver_node(runner: Runner, builder: str, state: BuilderState) -> RouteNode:
    key = cache_key(builder)
    native = state.natives.get(key)
    if native is None:
        probe = runner.run("--context", builder, "info", "--format", "{{json .}}", check=False)
        if probe.exit_code != 0 and f'context "{builder}": context not found' in probe.stderr:
            raise builder_not_found(builder)
        from buildxpy.builders.natives import platform_from_info

        found = None
        with contextlib.suppress(BuildxpyError):
            found = platform_from_info(
                load_json(docker_json.DockerInfo, probe.stdout, what="docker info")
            )
        if found is None:
            log.get().warning(
                "cannot ask the builder's daemon for its architecture", builder=builder
            )
        else:
            native = state.natives[key] = str(found)
    return RouteNode.model_construct(name=builder, endpoint=builder, native=native)


def cache_key(endpoint: str) -> str:
    """The ``default`` context is whatever ``DOCKER_HOST`` names: remember it per host."""
    host = os.environ.get("DOCKER_HOST")
    return f"{endpoint}@{host}" if endpoint == "default" and host else endpoint


def _needs_workers(
    nodes: Sequence[RouteNode], platforms: Sequence[Platform], *, separately: bool
) -> bool:
    groups = [[p] for p in platforms] if separately else [list(platforms)]
    return any(uses_workers(nodes, group) for group in groups)


def with_reported(runner: Runner, builder: str, nodes: list[RouteNode]) -> list[RouteNode]:
    from buildxpy.builders.facts import ls_entries

    entry = ls_entries(runner).get(builder)
    if entry is None:
        raise builder_not_found(builder)
    running = {n.name: n for n in entry.nodes if n.status == "running"}
    out = []
    for node in nodes:
        listed = running.get(node.name)
        reported = _parsed(listed.platforms) if listed else None
        out.append(node.model_copy(update={"reported": reported}))
    return out


def _parsed(platforms: Sequence[str]) -> list[str]:
    out = []
    for text in platforms:
        with contextlib.suppress(BuildxpyError):
            out.append(str(parse(text)))
    return list(dict.fromkeys(out))


def _with_native(runner: Runner, driver: str, node: RouteNode, state: BuilderState) -> RouteNode:
    if driver in NON_DOCKER_DRIVERS:
        native = node.reported[0] if node.reported else None
    else:
        from buildxpy.builders.natives import daemon_platform

        found = daemon_platform(runner, node.endpoint, state)
        native = str(found) if found else None
    return node.model_copy(update={"native": native})


def remember_natives(config_dir: Path, builder: str, natives: dict[str, str]) -> None:
    """Merged into the state file under the builder's lock: `builder setup` may be writing it."""
    try:
        with builder_lock(config_dir, builder):
            state = load_state(config_dir, builder)
            state.natives.update(natives)
            save_state(config_dir, builder, state)
    except OSError as exc:
        log.get().debug("cannot keep the nodes' platforms", builder=builder, error=str(exc))
