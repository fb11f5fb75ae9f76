"""Changing and booting a builder: run the plan's steps, boot the nodes, and when a node fails to
boot, say which one and why in one paragraph."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from buildxpy import log
from buildxpy.builders.facts import Builder, to_builder
from buildxpy.builders.plan import DesiredBuilder, Plan
from buildxpy.builders.state import BuilderState
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError, CommandFailed, CommandTimeout

if TYPE_CHECKING:
    from buildxpy.docker.models import LsBuilder

BOOT_TIMEOUT = 300.0


LOG_TAIL = 20


PULL_ERRORS = (
    "failed to resolve reference", "pull access denied", "no such host", "manifest unknown",
    "connection refused", "i/o timeout", "TLS handshake timeout", "not found",
)  # fmt: skip


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


def check_docker_builder(entry: LsBuilder) -> Builder:
    builder = to_builder(entry)
    problems = [builder.error] + [n.error for n in builder.nodes]
    problem = next((p for p in problems if p), None)
    if problem:
        raise BuildxpyError(f"builder {builder.name!r} (docker driver) is not usable: {problem}")
    log.get().info("builder uses the docker driver; used as it is", builder=builder.name)
    return builder


def needs_boot(the_plan: Plan, entry: LsBuilder | None) -> bool:
    if the_plan.changes or entry is None:
        return True
    return any(node.status != "running" for node in entry.nodes)


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
    desired: DesiredBuilder, entry: LsBuilder | None
) -> tuple[dict[str, str], dict[str, str]]:
    hosts = {n.name: n.host for n in desired.nodes if n.host}
    addressed, shown = {}, {}
    for node in entry.nodes if entry else ():
        name, endpoint = node.name, node.endpoint
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
        return f"cannot pull the BuildKit image {image} ({_pull_hint(error)}): {root_cause(error)}"
    return _shorten(error)


def _pull_hint(error: str) -> str:
    # A registry that answered knows no such image; only one that did not is unreachable.
    if "manifest unknown" in error or error.endswith(": not found"):
        return "the registry has no such image"
    if "pull access denied" in error:
        return "not logged in, or no such image"
    return "no registry reachable?"


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


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
