"""Builders: make the configured one exist (plan, then act), boot it, list, inspect, remove, use, stop.

The facts come from ``builder_facts``, the plan from ``builder_plan.plan`` (pure), the changes and
the boot from ``builder_boot``; every call goes through the ``Runner``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from buildxpy import log
from buildxpy.builders.boot import (
    BOOT_TIMEOUT,
    act,
    boot,
    check_docker_builder,
    needs_boot,
    node_endpoints,
)
from buildxpy.builders.buildkitd_config import BuildkitdFile, prepare
from buildxpy.builders.description import BuilderDescription
from buildxpy.builders.facts import (
    Builder,
    Node,
    actual_builder,
    contexts_used_elsewhere,
    current_builder,
    known_contexts,
    ls_entries,
    planned_builder,
    to_builder,
)
from buildxpy.builders.missing import builder_not_found
from buildxpy.builders.natives import pin_node_platforms, report_emulation
from buildxpy.builders.plan import Plan, desired_builder, plan
from buildxpy.builders.state import (
    BuilderState,
    builder_lock,
    docker_config_dir,
    load_state,
    save_state,
    state_path,
)
from buildxpy.docker.models import LsBuilder
from buildxpy.docker.runner import Runner
from buildxpy.platforms.names import Platform

__all__ = [
    "Builder",
    "Node",
    "ensure_builder",
    "inspect_builder",
    "list_builders_info",
    "remove_builder",
    "stop_builder",
    "use_builder",
]


def ensure_builder(
    config: BuilderDescription,
    platforms: Sequence[Platform],
    runner: Runner | None = None,
    *,
    force: bool = False,
    bootstrap: bool = True,
    use: bool = False,
    timeout: float = BOOT_TIMEOUT,
) -> Builder:
    """Make the configured builder exist exactly as configured; boot it; report emulated platforms."""
    runner = runner or Runner()
    config_dir = docker_config_dir(runner)
    name = config.name
    with builder_lock(config_dir, name):
        buildkitd = buildkitd_file(config, config_dir)
        desired = desired_builder(config, platforms, buildkitd=buildkitd)
        state = load_state(config_dir, name)
        if force:
            state.natives.clear()
        desired = pin_node_platforms(runner, desired, state)
        listed = ls_entries(runner)
        actual = actual_builder(config_dir, listed.get(name))
        contexts = known_contexts(runner, desired, actual, state)
        owned = set(state.contexts) - contexts_used_elsewhere(listed, name)
        the_plan = plan(desired, actual, contexts, owned, force=force)
        if the_plan.docker_driver:
            if buildkitd is not None:
                _configuration_ignored(name, "it uses the docker driver (the engine's BuildKit)")
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
        report_emulation(runner, platforms, desired, result, state)
        _log_ready(runner, result, changes=len(the_plan.steps))
        result.current = current_builder(config_dir) == name or (use and runner.dry_run)
        if not runner.dry_run:
            save_state(config_dir, name, state)
    return result


def _log_ready(runner: Runner, result: Builder, *, changes: int) -> None:
    log.get().info(
        "builder ready" if not runner.dry_run else "builder planned",
        builder=result.name,
        driver=result.driver,
        nodes=[f"{n.name} ({n.endpoint}, {n.status})" for n in result.nodes],
        changes=changes,
    )


def buildkitd_file(config: BuilderDescription, config_dir: Path) -> BuildkitdFile | None:
    """The buildkitd configuration the builder's nodes get; the inline table is written out under
    ``$DOCKER_CONFIG/buildxpy/buildkitd/``."""
    if config.buildkitd_config is None and config.buildkitd is None:
        return None
    if config.driver in IGNORING_DRIVERS:
        _configuration_ignored(config.name, IGNORING_DRIVERS[config.driver])
        return None
    return prepare(config.buildkitd_config, config.buildkitd, config_dir / "buildxpy", config.name)


# Drivers whose BuildKit is configured elsewhere: buildx stores the file but no daemon reads it.
IGNORING_DRIVERS = {
    "docker": "it uses the docker driver (the engine's BuildKit, configured in daemon.json)",
    "remote": "it uses the remote driver (that buildkitd reads its own configuration)",
}


def _configuration_ignored(name: str, why: str) -> None:
    log.get().warning("the buildkitd configuration is not used", builder=name, reason=why)


def apply_plan(
    runner: Runner,
    name: str,
    the_plan: Plan,
    entry: LsBuilder | None,
    config_dir: Path,
    state: BuilderState,
) -> LsBuilder | None:
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
