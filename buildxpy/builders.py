"""Builders: make the configured one exist (plan, then act), boot it, list, inspect, remove, use, stop.

The facts come from ``docker buildx ls --format json`` and buildx's own store under the docker config
directory; the plan comes from ``builder_plan.plan`` (pure); the calls go through the ``Runner``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, computed_field

from buildxpy import log
from buildxpy.builder_plan import (
    DOCKER_DRIVER,
    ActualBuilder,
    DesiredBuilder,
    DesiredNode,
    Plan,
    actual_from,
    desired_from_settings,
    load_instance,
    plan,
    platform_text,
)
from buildxpy.buildx import builder_not_found, list_builders
from buildxpy.errors import BuildxpyError, CommandFailed, CommandTimeout
from buildxpy.platforms import Platform
from buildxpy.platforms import parse as parse_platform
from buildxpy.runner import Runner
from buildxpy.settings import Settings

BOOT_TIMEOUT = 300.0
LOG_TAIL = 20
EMULATION_NOTE = (
    "emulated builds run several times slower (a reference image took 863 s under QEMU and 295 s "
    "on a native arm64 node); add a node native to these platforms to speed them up"
)
PULL_ERRORS = (
    "failed to resolve reference", "pull access denied", "no such host", "manifest unknown",
    "connection refused", "i/o timeout", "TLS handshake timeout", "not found",
)  # fmt: skip
_MACHINE_PLATFORMS = {"armv7l": "linux/arm/v7", "armv6l": "linux/arm/v6", "armv8l": "linux/arm/v7"}


class Node(BaseModel):
    name: str
    endpoint: str
    status: str
    buildkit: str | None = None
    platforms: list[str] = Field(default_factory=list)
    driver_opts: dict[str, str] = Field(default_factory=dict)
    buildkitd_flags: list[str] = Field(default_factory=list)
    native: str | None = None
    error: str | None = None


class Builder(BaseModel):
    name: str
    driver: str
    current: bool = False
    nodes: list[Node] = Field(default_factory=list)
    error: str | None = None
    # Configured platforms no node runs natively: built under QEMU.
    emulated: list[str] = Field(default_factory=list)
    # The mutating docker commands setup ran (or, under --dry-run, printed).
    commands: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> str:
        if self.error:
            return "error"
        states = {n.status for n in self.nodes}
        return states.pop() if len(states) == 1 else "mixed" if states else "unknown"


class BuilderState(BaseModel):
    """What buildxpy remembers about a builder it manages, next to buildx's own store."""

    contexts: dict[str, str] = Field(default_factory=dict)  # contexts it created -> docker host
    natives: dict[str, str] = Field(default_factory=dict)  # node endpoint -> daemon platform


# ---------------------------------------------------------------- public operations


def setup_builder(
    settings: Settings,
    runner: Runner | None = None,
    *,
    force: bool = False,
    bootstrap: bool = True,
    use: bool = False,
    timeout: float = BOOT_TIMEOUT,
) -> Builder:
    """Make the configured builder exist exactly as configured; boot it; report emulated platforms."""
    runner = runner or Runner()
    desired = desired_from_settings(settings)
    config_dir = docker_config_dir(runner)
    name = desired.name
    with builder_lock(config_dir, name):
        state = load_state(config_dir, name)
        if force:
            state.natives.clear()
        listed = ls_entries(runner)
        actual = actual_builder(config_dir, listed.get(name))
        contexts = known_contexts(runner, desired, actual, state)
        owned = set(state.contexts) - contexts_used_elsewhere(listed, name)
        the_plan = plan(desired, actual, contexts, owned, force=force)
        if the_plan.docker_driver:
            result = check_docker_builder(listed[name])
        else:
            entry = apply_plan(runner, name, the_plan, listed.get(name), config_dir, state)
            if bootstrap and needs_boot(the_plan, entry):
                boot(runner, name, *node_endpoints(desired, entry), timeout)
                entry = ls_entries(runner).get(name)
            result = to_builder(entry) if entry else planned_builder(desired)
        result.commands = [str(step) for step in the_plan.steps]
        if use and current_builder(config_dir) != name:
            runner.run("buildx", "use", name, mutating=True)
            result.commands.append(f"docker buildx use {name}")
        report_emulation(runner, settings, desired, result, state)
        log.get().info(
            "builder ready" if not runner.dry_run else "builder planned",
            builder=name,
            driver=result.driver,
            nodes=[f"{n.name} ({n.endpoint}, {n.status})" for n in result.nodes],
            changes=len(the_plan.steps),
        )
        result.current = current_builder(config_dir) == name or (use and runner.dry_run)
        if not runner.dry_run:
            save_state(config_dir, name, state)
    return result


def apply_plan(
    runner: Runner,
    name: str,
    the_plan: Plan,
    entry: dict[str, Any] | None,
    config_dir: Path,
    state: BuilderState,
) -> dict[str, Any] | None:
    """Run the plan's steps; return the builder as ``ls`` shows it afterwards (None when a dry run
    only printed the changes)."""
    if not the_plan.changes:
        return entry
    try:
        act(runner, the_plan, state)
    finally:
        # Contexts made before a later step failed are still buildxpy's to remove.
        if not runner.dry_run:
            save_state(config_dir, name, state)
    if runner.dry_run:
        return None
    return ls_entries(runner).get(name)


def list_builders_info(runner: Runner | None = None) -> list[Builder]:
    runner = runner or Runner()
    current = current_builder(docker_config_dir(runner))
    builders = [to_builder(entry) for entry in ls_entries(runner).values()]
    for builder in builders:
        builder.current = builder.name == current
    return builders


def inspect_builder(name: str, runner: Runner | None = None) -> Builder:
    runner = runner or Runner()
    entry = ls_entries(runner).get(name)
    if entry is None:
        raise builder_not_found(name)
    builder = to_builder(entry)
    builder.current = builder.name == current_builder(docker_config_dir(runner))
    return builder


def remove_builder(name: str, runner: Runner | None = None, *, keep_state: bool = False) -> Builder:
    """``docker buildx rm``, then remove the docker contexts buildxpy created for the builder."""
    runner = runner or Runner()
    config_dir = docker_config_dir(runner)
    with builder_lock(config_dir, name):
        listed = ls_entries(runner)
        entry = listed.get(name)
        if entry is None:
            raise builder_not_found(name)
        removed = to_builder(entry)
        runner.run("buildx", "rm", *(["--keep-state"] if keep_state else []), name, mutating=True)
        removed.commands.append(f"docker buildx rm {name}")
        state = load_state(config_dir, name)
        in_use = contexts_used_elsewhere(listed, name)
        for context in sorted(set(state.contexts) - in_use):
            runner.run("context", "rm", context, mutating=True)
            removed.commands.append(f"docker context rm {context}")
        if not runner.dry_run:
            state_path(config_dir, name).unlink(missing_ok=True)
    return removed


def use_builder(name: str, runner: Runner | None = None) -> Builder:
    runner = runner or Runner()
    builder = inspect_builder(name, runner)
    runner.run("buildx", "use", name, mutating=True)
    builder.current = True
    return builder


def stop_builder(name: str, runner: Runner | None = None) -> Builder:
    runner = runner or Runner()
    builder = inspect_builder(name, runner)
    runner.run("buildx", "stop", name, mutating=True)
    return builder


# ---------------------------------------------------------------- facts


def docker_config_dir(runner: Runner) -> Path:
    configured = runner.env.get("DOCKER_CONFIG") or os.environ.get("DOCKER_CONFIG")
    return Path(configured) if configured else Path.home() / ".docker"


def ls_entries(runner: Runner) -> dict[str, dict[str, Any]]:
    return {str(entry["Name"]): entry for entry in list_builders(runner)}


def actual_builder(config_dir: Path, entry: Mapping[str, Any] | None) -> ActualBuilder | None:
    """The builder as buildx stores it; its store file gives the configured platforms, which ``ls``
    replaces with the worker's once a node runs."""
    if entry is None:
        return None
    name = str(entry["Name"])
    instance = config_dir / "buildx" / "instances" / name
    if entry.get("Driver") != DOCKER_DRIVER and instance.is_file():
        with contextlib.suppress(OSError, ValueError, KeyError):
            return load_instance(instance.read_text())
    return actual_from(entry)


def to_builder(entry: Mapping[str, Any]) -> Builder:
    return Builder(
        name=str(entry["Name"]),
        driver=str(entry.get("Driver") or ""),
        error=entry.get("Err") or None,
        nodes=[
            Node(
                name=str(node.get("Name") or ""),
                endpoint=str(node.get("Endpoint") or ""),
                status=str(node.get("Status") or ("error" if node.get("Err") else "unknown")),
                buildkit=node.get("Version") or None,
                platforms=[platform_text(p) for p in node.get("Platforms") or ()],
                driver_opts=dict(node.get("DriverOpts") or {}),
                buildkitd_flags=list(node.get("Flags") or ()),
                error=node.get("Err") or None,
            )
            for node in entry.get("Nodes") or ()
            if node.get("Name")
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
        data = json.loads((config_dir / "buildx" / "current").read_text())
    except (OSError, ValueError):
        data = {}
    name = data.get("Name") if isinstance(data, dict) else None
    return str(name) if name else os.environ.get("DOCKER_CONTEXT") or "default"


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
    return parse_context_ls(result.stdout)


def parse_context_ls(text: str) -> dict[str, str]:
    contexts = {}
    for line in text.splitlines():
        if line.strip():
            item = json.loads(line)
            contexts[str(item["Name"])] = str(item.get("DockerEndpoint") or "")
    return contexts


def contexts_used_elsewhere(listed: Mapping[str, Mapping[str, Any]], builder: str) -> set[str]:
    """Context names other builders' nodes run on (never removed with this builder)."""
    used = set()
    for name, entry in listed.items():
        if name == builder or entry.get("Driver") == DOCKER_DRIVER:
            continue
        used |= {str(node.get("Endpoint")) for node in entry.get("Nodes") or ()}
    return used


# ---------------------------------------------------------------- acting


def act(runner: Runner, the_plan: Plan, state: BuilderState) -> None:
    logger = log.get()
    for step in the_plan.steps:
        logger.info("builder change", step=step.kind, node=step.node, context=step.context)
        runner.run(*step.argv, mutating=True)
        if runner.dry_run or step.context is None:
            continue
        if step.kind == "context-remove":
            state.contexts.pop(step.context, None)
        elif step.host is not None:
            state.contexts[step.context] = step.host


def check_docker_builder(entry: Mapping[str, Any]) -> Builder:
    builder = to_builder(entry)
    problems = [builder.error] + [n.error for n in builder.nodes]
    problem = next((p for p in problems if p), None)
    if problem:
        raise BuildxpyError(f"builder {builder.name!r} (docker driver) is not usable: {problem}")
    log.get().info("builder uses the docker driver; used as it is", builder=builder.name)
    return builder


def needs_boot(the_plan: Plan, entry: Mapping[str, Any] | None) -> bool:
    if the_plan.changes or entry is None:
        return True
    return any(node.get("Status") != "running" for node in entry.get("Nodes") or ())


def boot(
    runner: Runner,
    name: str,
    contexts: Mapping[str, str],
    shown: Mapping[str, str],
    timeout: float,
) -> None:
    """``contexts``: where each node's daemon is (context or host), ``shown``: how to name it."""
    log.get().info("booting builder", builder=name, timeout_s=timeout)
    try:
        result = runner.run("buildx", "inspect", "--bootstrap", name, mutating=True,
                            timeout=timeout, check=False)  # fmt: skip
    except CommandTimeout:
        raise BuildxpyError(
            f"builder {name!r} did not boot within {timeout:.0f}s; "
            f"see `docker buildx inspect --bootstrap {name}`"
        ) from None
    if result.exit_code == 0:
        return
    failures = parse_boot_failures(
        result.stderr, next(iter(contexts)) if len(contexts) == 1 else ""
    )
    if not failures:
        raise CommandFailed(
            result.argv, result.exit_code, result.stderr_tail,
            message=f"builder {name!r} failed to boot",
        )  # fmt: skip
    first_node = failures[0][0]
    log_tail = container_log_tail(runner, first_node, contexts.get(first_node, ""))
    message = boot_failure_message(name, failures, shown, started=bool(log_tail))
    raise BuildxpyError(message, details=log_tail)


def node_endpoints(
    desired: DesiredBuilder, entry: Mapping[str, Any] | None
) -> tuple[dict[str, str], dict[str, str]]:
    hosts = {n.name: n.host for n in desired.nodes if n.host}
    addressed, shown = {}, {}
    for node in _nodes(entry):
        name, endpoint = str(node.get("Name")), str(node.get("Endpoint") or "")
        addressed[name] = endpoint
        host = hosts.get(name)
        shown[name] = f"{host} as context {endpoint}" if host and host != endpoint else endpoint
    return addressed, shown


def parse_boot_failures(stderr: str, only_node: str = "") -> list[tuple[str, str | None, str]]:
    """From buildx's boot progress: (node, image it was pulling, error) for each node that failed.
    buildx names the node only when the builder has several (``only_node`` names a lone one)."""
    nodes: dict[str, str] = {}
    images: dict[str, str] = {}
    errors: dict[str, str] = {}
    for line in stderr.splitlines():
        if m := re.match(r"^#(\d+) \[(?:(\S+) )?internal\] booting buildkit", line):
            nodes[m[1]] = m[2] or only_node
        elif m := re.match(r"^#(\d+) pulling image (\S+)", line):
            images[m[1]] = m[2]
        elif m := re.match(r"^#(\d+) ERROR: (.*)$", line):
            errors[m[1]] = m[2].strip()
    return [
        (nodes[step], images.get(step), error) for step, error in errors.items() if step in nodes
    ]


def boot_failure_message(
    builder: str,
    failures: Sequence[tuple[str, str | None, str]],
    endpoints: Mapping[str, str],
    *,
    started: bool,
) -> str:
    """One paragraph: nodes that failed for the same reason are named together."""
    by_cause: dict[str, list[str]] = {}
    for node, image, error in failures:
        where = endpoints.get(node) or "the current docker endpoint"
        by_cause.setdefault(boot_cause(image, error), []).append(f"{node!r} ({where})")
    parts = []
    for cause, nodes in by_cause.items():
        noun = "node" if len(nodes) == 1 else "nodes"
        parts.append(f"{noun} {', '.join(nodes)} failed to boot: {cause}")
    message = f"builder {builder!r} " + "; ".join(parts)
    if not started:
        message += "; no BuildKit container was started, so there is no container log to show"
    if any(cause.startswith("cannot pull") for cause in by_cause):
        message += (
            " (load the image on each node with `docker load`, or point the node's `image` driver "
            "option at a reachable copy; the engine's own BuildKit needs no image: --builder default)"
        )
    return message


def boot_cause(image: str | None, error: str) -> str:
    error = error.removeprefix("Error response from daemon: ")
    pull_failed = image is not None and any(marker in error for marker in PULL_ERRORS)
    if pull_failed:
        return (
            f"cannot pull the BuildKit image {image} (no registry reachable?): {root_cause(error)}"
        )
    return _shorten(error)


def root_cause(error: str) -> str:
    """The innermost part of a wrapped Go error (``a: b: dial tcp: lookup x: no such host``)."""
    parts = [p for p in error.split(": ") if p]
    for size in (2, 1):
        tail = ": ".join(parts[-size:])
        if len(tail) <= 120:
            return tail
    return _shorten(error)


def container_log_tail(runner: Runner, node: str, endpoint: str) -> list[str]:
    result = runner.run(*docker_target(endpoint), "logs", "--tail", str(LOG_TAIL),
                        f"buildx_buildkit_{node}", check=False)  # fmt: skip
    if result.exit_code != 0:
        return []
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if line.strip()][-LOG_TAIL:]


def docker_target(endpoint: str | None) -> list[str]:
    """Global docker flags that address a node's daemon."""
    if not endpoint:
        return []
    return ["--host", endpoint] if "://" in endpoint else ["--context", endpoint]


def _nodes(entry: Mapping[str, Any] | None) -> Iterable[Mapping[str, Any]]:
    return (entry or {}).get("Nodes") or ()


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- emulation


def report_emulation(
    runner: Runner,
    settings: Settings,
    desired: DesiredBuilder,
    result: Builder,
    state: BuilderState,
) -> None:
    natives = node_natives(runner, desired, result, state)
    for node in result.nodes:
        node.native = str(natives[node.name]) if node.name in natives else None
    configured = list(settings.builder_platforms)
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
        platform = platform_from_info(json.loads(result.stdout))
    except (ValueError, AttributeError):
        platform = None
    if platform is not None and endpoint:
        state.natives[endpoint] = str(platform)
    return platform


def platform_from_info(info: Mapping[str, Any]) -> Platform | None:
    machine = str(info.get("Architecture") or "").lower()
    os_type = str(info.get("OSType") or "linux").lower()
    if not machine:
        return None
    try:
        return parse_platform(_MACHINE_PLATFORMS.get(machine, f"{os_type}/{machine}"))
    except BuildxpyError:
        return None


def emulated_platforms(
    configured: Iterable[Platform], natives: Iterable[Platform]
) -> list[Platform]:
    hosts = list(natives)
    return [p for p in dict.fromkeys(configured) if not any(runs_natively(h, p) for h in hosts)]


def runs_natively(host: Platform, target: Platform) -> bool:
    if host.os != target.os:
        return False
    if host.arch == target.arch:
        # An arm/v7 machine can't run arm/v8 code; amd64 micro-architecture levels are not
        # checked (buildx lists v2-v4 on any amd64 daemon).
        return host.arch != "arm" or target.variant <= host.variant
    # x86-64 CPUs run 32-bit x86 code themselves.
    return host.arch == "amd64" and target.arch == "386"


# ---------------------------------------------------------------- lock and state


@contextlib.contextmanager
def builder_lock(config_dir: Path, name: str) -> Iterator[None]:
    """Serialises everything that changes one builder, across processes (``make -j``)."""
    path = config_dir / "buildxpy" / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.get().info("waiting for another buildxpy changing this builder", builder=name)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def state_path(config_dir: Path, name: str) -> Path:
    return config_dir / "buildxpy" / "builders" / f"{name}.json"


def load_state(config_dir: Path, name: str) -> BuilderState:
    path = state_path(config_dir, name)
    try:
        return BuilderState.model_validate_json(path.read_text())
    except FileNotFoundError:
        return BuilderState()
    except (OSError, ValidationError):
        log.get().warning("ignoring an unreadable builder state file", path=str(path))
        return BuilderState()


def save_state(config_dir: Path, name: str, state: BuilderState) -> None:
    path = state_path(config_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(state.model_dump_json(indent=2) + "\n")
    partial.replace(path)
