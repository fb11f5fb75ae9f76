"""The wanted builder versus the one buildx has: a pure planner that returns the docker calls to run.

Nothing here starts a process; ``builders.py`` gathers the facts, calls ``plan`` and runs the steps.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from buildxpy.builders.buildkitd_config import BuildkitdFile, stored_fingerprint
from buildxpy.builders.description import BuilderDescription
from buildxpy.builders.drivers import CONTEXT_DRIVERS, DOCKER_DRIVER
from buildxpy.docker import models as docker_json
from buildxpy.docker.models import load_json
from buildxpy.errors import ConfigError
from buildxpy.platforms.names import Platform

if TYPE_CHECKING:
    from buildxpy.docker.models import LsBuilder

# buildx 0.13 adds this flag to every docker-container node it stores, after the configured ones.
DEFAULT_FLAG = "--allow-insecure-entitlement=network.host"


@dataclass(frozen=True, slots=True)
class DesiredNode:
    name: str
    # What buildx is given as the node's endpoint: a context name, a URL (remote/kubernetes), or
    # None for the current docker endpoint.
    endpoint: str | None
    # For a URL endpoint on a docker-container builder: the docker host the context must point at.
    host: str | None = None
    platforms: tuple[str, ...] = ()
    driver_opts: tuple[tuple[str, str], ...] = ()
    flags: tuple[str, ...] = ()
    buildkitd_config: BuildkitdFile | None = None


@dataclass(frozen=True, slots=True)
class DesiredBuilder:
    name: str
    driver: str
    nodes: tuple[DesiredNode, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredNode:
    """A node as buildx stores its configuration (``buildx/instances/NAME``)."""

    name: str
    endpoint: str
    platforms: tuple[str, ...] = ()
    driver_opts: tuple[tuple[str, str], ...] = ()
    flags: tuple[str, ...] = ()
    # The buildkitd configuration buildx stored for the node (buildkitd_config.stored_fingerprint).
    config: str | None = None


@dataclass(frozen=True, slots=True)
class ActualBuilder:
    name: str
    driver: str
    nodes: tuple[StoredNode, ...] = ()


StepKind = Literal[
    "context-create",
    "context-update",
    "context-remove",
    "create",
    "append",
    "update",
    "leave",
    "node-remove",
    "rm",
]


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    argv: tuple[str, ...]
    node: str | None = None
    # The docker context this step creates, repoints or removes, and where it points.
    context: str | None = None
    host: str | None = None

    def __str__(self) -> str:
        return shlex.join(("docker", *self.argv))


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[Step, ...] = ()
    # The builder already exists with the docker driver: used as it is, never changed.
    docker_driver: bool = False
    recreated: bool = False

    @property
    def changes(self) -> bool:
        return bool(self.steps)


def desired_builder(
    config: BuilderDescription,
    platforms: Sequence[Platform],
    *,
    buildkitd: BuildkitdFile | None = None,
) -> DesiredBuilder:
    """``buildkitd``: the buildkitd configuration every node gets (``builders.buildkitd_file``)."""
    if config.driver == DOCKER_DRIVER:
        return DesiredBuilder(config.name, config.driver)
    if not config.nodes:
        if config.driver == "remote":
            raise ConfigError(
                f"builder {config.name!r}: the remote driver needs a node with a tcp:// endpoint "
                "(--node NAME=tcp://HOST:PORT)"
            )
        only = DesiredNode(
            name=f"{config.name}0",
            endpoint=None,
            platforms=tuple(str(p) for p in platforms),
            driver_opts=_sorted_opts(config.driver_opts),
            flags=split_flags(config.buildkitd_flags),
            buildkitd_config=buildkitd,
        )
        return DesiredBuilder(config.name, config.driver, (only,))
    nodes = []
    for node in config.nodes:
        flags = node.buildkitd_flags if node.buildkitd_flags is not None else config.buildkitd_flags
        as_context = config.driver in CONTEXT_DRIVERS and not node.is_context
        nodes.append(
            DesiredNode(
                name=node.name,
                endpoint=node.name if as_context else node.endpoint,
                host=node.endpoint if as_context else None,
                platforms=tuple(str(p) for p in node.platforms),
                driver_opts=_sorted_opts({**config.driver_opts, **node.driver_opts}),
                flags=split_flags(flags, node.name if node.buildkitd_flags is not None else None),
                buildkitd_config=buildkitd,
            )
        )
    return DesiredBuilder(config.name, config.driver, tuple(nodes))


def actual_from(builder: LsBuilder) -> ActualBuilder:
    """A builder as buildx stores it (``$DOCKER_CONFIG/buildx/instances/NAME``) or as ``buildx ls``
    shows it: both name a builder's parts with the same keys."""
    nodes = tuple(
        StoredNode(
            name=node.name,
            endpoint=node.endpoint,
            platforms=tuple(node.platforms),
            driver_opts=_sorted_opts(node.driver_opts),
            flags=tuple(node.flags),
            config=stored_fingerprint(node.files),
        )
        for node in builder.nodes
    )
    return ActualBuilder(builder.name, builder.driver, nodes)


def load_instance(text: str) -> ActualBuilder:
    return actual_from(load_json(docker_json.LsBuilder, text, what="buildx's stored builder"))


def plan(
    desired: DesiredBuilder,
    actual: ActualBuilder | None,
    contexts: Mapping[str, str],
    owned_contexts: Set[str] = frozenset(),
    *,
    force: bool = False,
) -> Plan:
    """The docker calls that turn ``actual`` into ``desired``.

    ``contexts`` maps docker context names to their docker host; ``owned_contexts`` are the ones
    buildxpy created (the only ones it may repoint or remove).
    """
    if actual is not None and actual.driver == DOCKER_DRIVER:
        return Plan(docker_driver=True)
    if desired.driver == DOCKER_DRIVER:
        raise ConfigError(
            f"builder {desired.name!r} does not exist and the docker driver cannot create one; "
            "a docker-driver builder is a docker context (e.g. `default`): name one with --builder"
        )
    context_steps = _context_steps(desired, contexts, owned_contexts)
    repointed = {s.context for s in context_steps if s.kind == "context-update"}
    reconfigured = actual is not None and config_changed(desired, actual)
    if actual is None or force or actual.driver != desired.driver or reconfigured:
        # A new buildkitd configuration reaches a node only in a new BuildKit container: buildx
        # copies it in when it creates one. The state (the build cache) is kept for it.
        keep = ("--keep-state",) if reconfigured and not force else ()
        removal = () if actual is None else (Step("rm", ("buildx", "rm", *keep, desired.name)),)
        return Plan(
            steps=(*removal, *context_steps, *_create_steps(desired)),
            recreated=actual is not None,
        )
    changes = _node_changes(desired, actual, repointed)
    leaves = _node_leaves(desired, actual, owned_contexts)
    # Appends run before leaves so the builder never drops to zero nodes on the way.
    return Plan(steps=(*context_steps, *changes, *leaves))


def _node_changes(
    desired: DesiredBuilder, actual: ActualBuilder, repointed: Set[str | None]
) -> list[Step]:
    """Nodes to append, and nodes to update in place (changed, or their context repointed)."""
    stored = {node.name: node for node in actual.nodes}
    changes: list[Step] = []
    for node in desired.nodes:
        current = stored.get(node.name)
        if current is None:
            changes.append(_append(desired.name, node))
        elif node.endpoint in repointed or not node_matches(node, current):
            changes.append(_append(desired.name, node, kind="update"))
    return changes


def _node_leaves(
    desired: DesiredBuilder, actual: ActualBuilder, owned_contexts: Set[str]
) -> list[Step]:
    """Nodes no longer wanted: each leaves, with its BuildKit container and the context
    buildxpy made for it."""
    wanted = {node.name for node in desired.nodes}
    endpoints_kept = {n.endpoint for n in desired.nodes}
    leaves: list[Step] = []
    for gone in actual.nodes:
        if gone.name in wanted:
            continue
        leaves.append(Step("leave", leave_argv(desired.name, gone.name), node=gone.name))
        if actual.driver == "docker-container":
            leaves += _remove_node_container(gone)
        if gone.endpoint in owned_contexts and gone.endpoint not in endpoints_kept:
            leaves.append(_remove_context(gone.endpoint))
    return leaves


def node_matches(node: DesiredNode, stored: StoredNode) -> bool:
    """Whether the stored node already is what is configured. An empty setting means "buildx's
    default" and is not compared: ``--append`` cannot clear a node's platforms, options or flags."""
    if node.endpoint is not None and node.endpoint != stored.endpoint:
        return False
    if node.platforms and node.platforms != stored.platforms:
        return False
    if node.driver_opts and node.driver_opts != stored.driver_opts:
        return False
    return not node.flags or flags_match(node.flags, stored.flags)


def config_changed(desired: DesiredBuilder, actual: ActualBuilder) -> bool:
    """Whether a node that stays has another buildkitd configuration than the one wanted (a node
    without one configured keeps whatever it has, as other empty settings do)."""
    stored = {node.name: node for node in actual.nodes}
    return any(
        node.buildkitd_config is not None
        and node.name in stored
        and stored[node.name].config != node.buildkitd_config.fingerprint
        for node in desired.nodes
    )


def flags_match(wanted: Sequence[str], stored: Sequence[str]) -> bool:
    return tuple(stored) in (tuple(wanted), (*wanted, DEFAULT_FLAG))


def node_options(node: DesiredNode) -> list[str]:
    argv: list[str] = []
    for key, value in node.driver_opts:
        argv += ["--driver-opt", f"{key}={value}"]
    if node.flags:
        argv += ["--buildkitd-flags", shlex.join(node.flags)]
    if node.buildkitd_config is not None:
        # `--config` before buildx 0.13, which still takes it (hidden); users run 0.13 or later.
        argv += ["--buildkitd-config", node.buildkitd_config.path]
    if node.platforms:
        argv += ["--platform", ",".join(node.platforms)]
    argv += ["--node", node.name]
    if node.endpoint is not None:
        argv.append(node.endpoint)
    return argv


def create_argv(builder: str, driver: str, node: DesiredNode) -> tuple[str, ...]:
    return ("buildx", "create", "--name", builder, "--driver", driver, *node_options(node))


def append_argv(builder: str, node: DesiredNode) -> tuple[str, ...]:
    return ("buildx", "create", "--append", "--name", builder, *node_options(node))


def leave_argv(builder: str, node: str) -> tuple[str, ...]:
    return ("buildx", "create", "--leave", "--name", builder, "--node", node)


def context_create_argv(name: str, host: str) -> tuple[str, ...]:
    return ("context", "create", name, "--docker", f"host={host}")


def _create_steps(desired: DesiredBuilder) -> list[Step]:
    first, *rest = desired.nodes
    steps = [Step("create", create_argv(desired.name, desired.driver, first), node=first.name)]
    steps += [_append(desired.name, node) for node in rest]
    return steps


def _append(builder: str, node: DesiredNode, kind: StepKind = "append") -> Step:
    if kind == "update":
        # Its configuration already matches (else the builder is recreated); given again, buildx
        # would merge it into the node's files, and crash on a node stored without any.
        node = replace(node, buildkitd_config=None)
    return Step(kind, append_argv(builder, node), node=node.name)


def _context_steps(
    desired: DesiredBuilder, contexts: Mapping[str, str], owned: Set[str]
) -> list[Step]:
    steps = []
    for node in desired.nodes:
        if node.host is None or node.endpoint is None:
            continue
        name, host = node.endpoint, node.host
        existing = contexts.get(name)
        if existing is None:
            create = context_create_argv(name, host)
            steps.append(Step("context-create", create, node=node.name, context=name, host=host))
        elif existing != host:
            if name not in owned:
                raise ConfigError(
                    f"node {node.name!r}: docker context {name!r} already exists and points at "
                    f"{existing}, not {host}; rename the node or remove that context"
                )
            update = ("context", "update", name, "--docker", f"host={host}")
            steps.append(Step("context-update", update, node=node.name, context=name, host=host))
    return steps


def _remove_node_container(node: StoredNode) -> list[Step]:
    """`buildx create --leave` forgets a node but leaves its BuildKit container running, and its
    state volume, on the node's daemon, where nothing reaches them once the context is gone."""
    target = ("--host", node.endpoint) if "://" in node.endpoint else ("--context", node.endpoint)
    container = f"buildx_buildkit_{node.name}"
    volume = f"{container}_state"
    return [
        Step("node-remove", (*target, "rm", "--force", container), node=node.name),
        Step("node-remove", (*target, "volume", "rm", "--force", volume), node=node.name),
    ]


def _remove_context(name: str) -> Step:
    return Step("context-remove", ("context", "rm", "--force", name), context=name)


def _sorted_opts(opts: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in opts.items()))


def split_flags(flags: str | None, node: str | None = None) -> tuple[str, ...]:
    """buildkitd's flags as buildx splits them (shell words)."""
    if not flags:
        return ()
    try:
        return tuple(shlex.split(flags))
    except ValueError as exc:
        where = f"node {node!r}: " if node else ""
        raise ConfigError(f"{where}invalid buildkitd flags {flags!r}: {exc}") from None
