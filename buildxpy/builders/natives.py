"""Which node of a builder runs which platform natively: each node's daemon is asked its
architecture once (``docker info``), and the answer is kept in buildxpy's state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from buildxpy import log
from buildxpy.builders.boot import docker_target
from buildxpy.builders.drivers import CONTEXT_DRIVERS
from buildxpy.builders.facts import Builder, Node
from buildxpy.builders.plan import DesiredBuilder, DesiredNode
from buildxpy.builders.state import BuilderState
from buildxpy.docker import models as docker_json
from buildxpy.docker.models import load_json
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError
from buildxpy.platforms.emulation import emulated_platforms
from buildxpy.platforms.names import Platform, platform_of_machine
from buildxpy.platforms.names import parse as parse_platform

if TYPE_CHECKING:
    from buildxpy.docker.models import DockerInfo

EMULATION_NOTE = (
    "emulated builds run several times slower (a reference image took 863 s under QEMU and 295 s "
    "on a native arm64 node); add a node native to these platforms to speed them up"
)


def report_emulation(
    runner: Runner,
    platforms: Sequence[Platform],
    desired: DesiredBuilder,
    result: Builder,
    state: BuilderState,
) -> None:
    natives = node_natives(runner, desired, result, state)
    for node in result.nodes:
        node.native = str(natives[node.name]) if node.name in natives else None
    configured = list(platforms)
    for wanted in desired.nodes:
        configured += [parse_platform(p) for p in wanted.platforms]
    result.emulated = [str(p) for p in emulated_platforms(configured, natives.values())]
    if result.emulated:
        log.get().warning(
            "platforms built under QEMU emulation",
            builder=result.name,
            platforms=result.emulated,
            native=sorted({str(p) for p in natives.values()}),
            note=EMULATION_NOTE,
        )


def pin_node_platforms(
    runner: Runner, desired: DesiredBuilder, state: BuilderState
) -> DesiredBuilder:
    """Every node with its platforms: buildx sends a node that lists none any platform its QEMU can
    run, so a node configured without platforms is given its daemon's own, with a warning."""
    nodes = tuple(
        node if node.platforms else _pinned(runner, desired, node, state) for node in desired.nodes
    )
    return replace(desired, nodes=nodes)


def _pinned(
    runner: Runner, desired: DesiredBuilder, node: DesiredNode, state: BuilderState
) -> DesiredNode:
    endpoint = node.host or node.endpoint
    native = None
    if desired.driver in CONTEXT_DRIVERS and endpoint:
        native = daemon_platform(runner, endpoint, state)
    if native is None:
        log.get().warning(
            "node has no platforms configured; buildx may send it any platform it can emulate "
            "(set the node's platforms)",
            builder=desired.name,
            node=node.name,
        )
        return node
    log.get().warning(
        "node has no platforms configured; it is given its daemon's own (set the node's "
        "platforms to choose others)",
        builder=desired.name,
        node=node.name,
        platform=str(native),
    )
    return replace(node, platforms=(str(native),))


def node_natives(
    runner: Runner, desired: DesiredBuilder, result: Builder, state: BuilderState
) -> dict[str, Platform]:
    """Each node's native platform: the architecture of the daemon it runs on. Worker platform
    lists can't tell native from emulated (BuildKit adds every platform binfmt_misc can run), and a
    node that has not booted reports none; ``docker info`` answers either way."""
    wanted = {n.name: n for n in desired.nodes}
    natives: dict[str, Platform] = {}
    for node in result.nodes:
        if result.driver in ("remote", "kubernetes"):
            if node.status == "running" and node.platforms:
                natives[node.name] = parse_platform(node.platforms[0])
            continue
        endpoint = _daemon_endpoint(wanted.get(node.name), node)
        platform = daemon_platform(runner, endpoint, state)
        if platform is not None:
            natives[node.name] = platform
    return natives


def _daemon_endpoint(plan_node: DesiredNode | None, node: Node) -> str:
    if plan_node is not None and plan_node.host:
        return plan_node.host
    return node.endpoint


def daemon_platform(runner: Runner, endpoint: str, state: BuilderState) -> Platform | None:
    cached = state.natives.get(endpoint)
    if cached:
        return parse_platform(cached)
    result = runner.run(*docker_target(endpoint), "info", "--format", "{{json .}}", check=False)
    if result.exit_code != 0:
        log.get().warning("cannot ask the node's daemon for its architecture", endpoint=endpoint)
        return None
    try:
        platform = platform_from_info(
            load_json(docker_json.DockerInfo, result.stdout, what="docker info")
        )
    except BuildxpyError:
        platform = None
    if platform is not None and endpoint:
        state.natives[endpoint] = str(platform)
    return platform


def platform_from_info(info: DockerInfo) -> Platform | None:
    return platform_of_machine(info.architecture, info.os_type or "linux")
