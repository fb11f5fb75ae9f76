"""Small facts about buildx that several commands need."""

from __future__ import annotations

import json
from typing import Any

from buildxpy.errors import BuilderNotFound, BuildxpyError, CommandFailed
from buildxpy.runner import Runner


def builder_not_found(name: str) -> BuilderNotFound:
    return BuilderNotFound(
        f"builder {name!r} does not exist; create it with `buildxpy builder setup`"
    )


def list_builders(runner: Runner) -> list[dict[str, Any]]:
    """``docker buildx ls --format json``: one object a builder (buildx 0.13 repeats a builder's
    line once per node, so lines are merged by ``Name``)."""
    result = runner.run("buildx", "ls", "--format", "json")
    builders: dict[str, dict[str, Any]] = {}
    for line in result.stdout.splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        builders.setdefault(item["Name"], item)
    return list(builders.values())


def explain_failure(runner: Runner, builder: str, exc: CommandFailed) -> BuildxpyError:
    """A buildx command failed; when the reason is a missing builder, say that instead."""
    marker = f'no builder "{builder}" found'
    if any(marker in line for line in exc.stderr_tail):
        return builder_not_found(builder)
    if not exc.stderr_tail:
        # The output went straight to a terminal, so ask buildx directly.
        probe = runner.run("buildx", "inspect", builder, check=False)
        if probe.exit_code != 0 and "no builder" in probe.stderr:
            return builder_not_found(builder)
    return exc
