"""Which node of a builder builds each platform, decided as buildx decides it, and whether that node
runs the platform natively. Pure: the facts come in, the plan goes out.

buildx (0.13 and later, ``build/driver.go``, since 2025 ``build/resolver``) picks a node per platform
in two passes:

1. Only the platforms each node was *configured* with (``buildx create --platform``), matched
   strictly (``arm/v7`` is not ``arm/v6``, ``amd64`` is not ``386``). If every platform finds a node
   this way, the first node that lists it builds it.
2. Otherwise every node is booted and its BuildKit workers are asked what they can build, which
   includes every platform QEMU emulates there. Each platform then goes to the first node whose
   configured or reported platforms are compatible with it (``amd64`` serves ``386``, ``arm64``
   serves ``arm/v7``); a later node takes it over only when it matches more closely. A platform no
   node matches goes to the first node.

So a node configured with no platforms, listed first, can take every platform its QEMU reports, even
one another node runs natively (the cause of docker/buildx#1686 and #2119).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from buildxpy.errors import BuildxpyError, ConfigError
from buildxpy.platforms.emulation import runs_natively
from buildxpy.platforms.names import Platform, parse
from buildxpy.result_model import ResultModel

Matched = Literal["configured", "reported", "predicted", "first node", "only node"]


class RouteNode(ResultModel):
    """A node as the rule sees it."""

    name: str
    endpoint: str
    # Given to `buildx create --platform`, in order (buildx's stored node group).
    configured: list[str] = Field(default=[])
    # What the running node's BuildKit workers report (`buildx ls`); None while it is not running.
    reported: list[str] | None = None
    # The node's own platform: its daemon's architecture (`docker info`); None when unknown.
    native: str | None = None


class Route(ResultModel):
    platform: str
    node: str
    endpoint: str
    # The node's own platform, and whether it runs ``platform`` without QEMU (None: unknown).
    node_platform: str | None
    native: bool | None
    # Which of the node's platform lists won it the platform (see the module's docstring).
    matched: Matched
    # Nodes of the builder that would run this platform natively.
    native_nodes: list[str] = Field(default=[])

    @property
    def runs(self) -> str:
        return {True: "native", False: "emulated", None: "unknown"}[self.native]


class RoutingPlan(ResultModel):
    builder: str
    driver: str
    nodes: list[RouteNode]
    routes: list[Route]
    # Each platform routed on its own, as one build per platform (--split, --by-digest, export) is.
    separately: bool = False
    warnings: list[str] = Field(default=[])

    @property
    def emulated(self) -> list[Route]:
        return [r for r in self.routes if r.native is not True]

    def route_for(self, platform: Platform | str) -> Route | None:
        wanted = str(platform)
        return next((r for r in self.routes if r.platform == wanted), None)

    def summary(self) -> dict[str, str]:
        """``platform -> "node (native)"``, the one log line a build gets."""
        return {r.platform: f"{r.node} ({r.runs})" for r in self.routes}


class NotNative(BuildxpyError):
    """``require_native`` is set and a platform would be built under emulation."""


@dataclass(frozen=True, slots=True)
class _Candidate:
    platform: Platform
    source: Matched


def platform_vector(platform: Platform) -> list[Platform]:
    """What ``platform``'s machines also run, most preferred first (containerd's ``platforms.Only``,
    which buildx matches node platforms with)."""
    vector = [platform]
    if platform.arch == "amd64":
        level = _version(platform.variant) or 1
        vector += [
            Platform(platform.os, "amd64", f"v{v}" if v > 1 else "")
            for v in range(level - 1, 0, -1)
        ]
        vector.append(Platform(platform.os, "386"))
    elif platform.arch == "arm":
        level = _version(platform.variant) or 7
        vector += [Platform(platform.os, "arm", f"v{v}") for v in range(level - 1, 4, -1)]
    elif platform.arch == "arm64":
        vector += [Platform(platform.os, "arm", f"v{v}") for v in range(8, 4, -1)]
    return vector


def _version(variant: str) -> int:
    digits = variant.removeprefix("v").partition(".")[0]
    return int(digits) if digits.isdigit() else 0


def _rank(vector: Sequence[Platform], platform: Platform) -> int:
    return vector.index(platform) if platform in vector else len(vector)


def _best(
    wanted: Platform, nodes: Sequence[Sequence[_Candidate]], *, strict: bool
) -> tuple[int, _Candidate] | None:
    """buildx's ``nodeResolver.get``: the first node with a matching platform, unless a later one
    matches it more closely."""
    best: tuple[int, _Candidate] | None = None
    for index, candidates in enumerate(nodes):
        for candidate in candidates:
            vector = [candidate.platform] if strict else platform_vector(candidate.platform)
            if wanted not in vector:
                continue
            if best is None or _rank(vector, wanted) < _rank(vector, best[1].platform):
                best = (index, candidate)
    return best


def uses_workers(nodes: Sequence[RouteNode], platforms: Sequence[Platform]) -> bool:
    """Whether buildx asks the nodes' workers (pass 2): some platform is in no node's configured
    platforms."""
    if len(nodes) < 2:
        return False
    configured = [[_Candidate(parse(p), "configured") for p in n.configured] for n in nodes]
    return any(_best(p, configured, strict=True) is None for p in platforms)


def choose_nodes(
    nodes: Sequence[RouteNode], platforms: Sequence[Platform]
) -> list[tuple[int, Matched]]:
    """For each platform, the index of the node buildx builds it on and why."""
    if not nodes:
        raise ConfigError("the builder has no nodes")
    if len(nodes) == 1:
        return [(0, "only node")] * len(platforms)
    configured = [[_Candidate(parse(p), "configured") for p in n.configured] for n in nodes]
    strict = [_best(p, configured, strict=True) for p in platforms]
    if all(found is not None for found in strict):
        return [(found[0], "configured") for found in strict if found is not None]
    everything = [
        configured[i] + [_Candidate(parse(p), source) for p, source in _reported(node)]
        for i, node in enumerate(nodes)
    ]
    chosen: list[tuple[int, Matched]] = []
    for platform in platforms:
        found = _best(platform, everything, strict=False)
        chosen.append((found[0], found[1].source) if found else (0, "first node"))
    return chosen


def _reported(node: RouteNode) -> list[tuple[str, Matched]]:
    if node.reported is not None:
        return [(p, "reported") for p in node.reported]
    # Not running: its workers are unknown until it boots, but BuildKit always reports the
    # machine's own platform.
    return [(node.native, "predicted")] if node.native else []


def plan_routes(
    builder: str,
    driver: str,
    nodes: Sequence[RouteNode],
    platforms: Sequence[Platform],
    *,
    separately: bool = False,
) -> RoutingPlan:
    """Where each platform is built. ``separately``: one build per platform, so each platform is
    routed on its own (a platform that would fall to pass 2 in a multi-platform build may then
    find its configured node in pass 1)."""
    if separately:
        chosen = [choose_nodes(nodes, [p])[0] for p in platforms]
    else:
        chosen = choose_nodes(nodes, platforms)
    routes = []
    for platform, (index, matched) in zip(platforms, chosen, strict=True):
        node = nodes[index]
        routes.append(
            Route.model_construct(
                platform=str(platform),
                node=node.name,
                endpoint=node.endpoint,
                node_platform=node.native,
                native=_native(node, platform),
                matched=matched,
                native_nodes=[n.name for n in nodes if _native(n, platform)],
            )
        )
    groups = [[p] for p in platforms] if separately else [list(platforms)]
    guessed = [n.name for n in nodes if n.reported is None]
    warnings = unconfigured_warnings(nodes)
    if guessed and any(uses_workers(nodes, group) for group in groups):
        warnings.append(
            f"not running: {', '.join(guessed)}; buildx also routes by the platforms a running "
            "node's BuildKit reports (QEMU's included), known only once it boots, so this plan "
            "assumed each such node reports its own platform only"
        )
    return RoutingPlan.model_construct(
        builder=builder,
        driver=driver,
        nodes=list(nodes),
        routes=routes,
        separately=separately,
        warnings=warnings,
    )


def _native(node: RouteNode, platform: Platform) -> bool | None:
    if node.native is None:
        return None
    return runs_natively(parse(node.native), platform)


def unconfigured_warnings(nodes: Sequence[RouteNode]) -> list[str]:
    """A node without configured platforms matters only next to other nodes: it can take their
    platforms whenever buildx falls back to what the workers report."""
    if len(nodes) < 2:
        return []
    return [
        f"node {n.name!r} has no configured platforms: buildx lets it take any platform its QEMU "
        f"emulates whenever another node's configured platforms do not cover a build (give it "
        f"platforms=… in builder.nodes)"
        for n in nodes
        if not n.configured
    ]


def refuse_emulated(plan: RoutingPlan) -> None:
    """``require_native``: raise before any build when a platform would not run natively."""
    problems = [_why_not_native(plan, route) for route in plan.emulated]
    if problems:
        raise NotNative(
            "native builds required, but " + "; ".join(problems), details=plan_lines(plan)
        )


def _why_not_native(plan: RoutingPlan, route: Route) -> str:
    if route.native is None:
        return (
            f"{route.platform} goes to node {route.node!r}, whose own platform is unknown "
            "(its daemon did not answer `docker info`)"
        )
    where = f"{route.platform} would be emulated on node {route.node!r} ({route.node_platform})"
    if route.native_nodes:
        others = ", ".join(repr(n) for n in route.native_nodes)
        return (
            f"{where}; nodes that run it natively: {others} (list {route.platform} in their "
            "configured platforms so buildx sends it there)"
        )
    return f"{where}; no node of builder {plan.builder!r} runs it natively"


def plan_lines(plan: RoutingPlan) -> list[str]:
    """The plan as aligned text lines, one a platform."""
    header = ("PLATFORM", "NODE", "ENDPOINT", "NODE PLATFORM", "RUNS", "MATCHED BY")
    rows = [header] + [
        (r.platform, r.node, r.endpoint, r.node_platform or "?", r.runs, r.matched)
        for r in plan.routes
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
