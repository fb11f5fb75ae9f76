"""buildx's node choice per platform, by table: nodes (own platform, configured platforms, what a
running node reports) in, node and native/emulated per platform out."""

from __future__ import annotations

import pytest

from buildxpy.builders.routing import (
    NotNative,
    RouteNode,
    plan_lines,
    plan_routes,
    platform_vector,
    refuse_emulated,
    uses_workers,
)
from buildxpy.platforms.names import parse, parse_list

AMD = "linux/amd64"
ARM = "linux/arm64"
V7 = "linux/arm/v7"
# What BuildKit on an amd64 machine with QEMU reports (buildx ls of the bed's default builder).
AMD_WITH_QEMU = ["linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386", ARM, V7]


def node(
    name: str,
    native: str | None,
    configured: tuple[str, ...] = (),
    reported: list[str] | None = None,
) -> RouteNode:
    return RouteNode(
        name=name, endpoint=name, configured=list(configured), reported=reported, native=native
    )


def routed(
    nodes: list[RouteNode], platforms: str, *, separately: bool = False
) -> list[tuple[str, str, str, str]]:
    plan = plan_routes(
        "b", "docker-container", nodes, parse_list([platforms]), separately=separately
    )
    return [(r.platform, r.node, r.runs, r.matched) for r in plan.routes]


CASES = [
    pytest.param(
        [node("default", AMD)],
        f"{AMD},{ARM}",
        [(AMD, "default", "native", "only node"), (ARM, "default", "emulated", "only node")],
        id="docker-driver-default-builder",
    ),
    pytest.param(
        [node("x86", AMD, (AMD,)), node("pi", ARM, (ARM, V7))],
        f"{AMD},{ARM},{V7}",
        [
            (AMD, "x86", "native", "configured"),
            (ARM, "pi", "native", "configured"),
            (V7, "pi", "emulated", "configured"),
        ],
        id="each-configured-platform-to-its-node",
    ),
    pytest.param(
        [node("a", AMD, (ARM,)), node("b", ARM, (ARM,))],
        ARM,
        [(ARM, "a", "emulated", "configured")],
        id="two-nodes-configure-it-the-first-wins",
    ),
    pytest.param(
        # buildx#1686: the x86 node, unconfigured and listed first, reports arm64 through QEMU;
        # amd64 is nobody's configured platform, so buildx falls back to the workers' lists and
        # the first node keeps arm64 (an equal match does not move it).
        [node("x86", AMD, (), AMD_WITH_QEMU), node("pi", ARM, (ARM,), [ARM, V7])],
        f"{AMD},{ARM}",
        [(AMD, "x86", "native", "reported"), (ARM, "x86", "emulated", "reported")],
        id="unconfigured-first-node-steals-arm64",
    ),
    pytest.param(
        # The same builder, configured platforms covering every platform: pass 1 decides.
        [node("x86", AMD, (AMD,), AMD_WITH_QEMU), node("pi", ARM, (ARM,), [ARM, V7])],
        f"{AMD},{ARM}",
        [(AMD, "x86", "native", "configured"), (ARM, "pi", "native", "configured")],
        id="configured-platforms-preferred-over-reported",
    ),
    pytest.param(
        # arm/v7 is nobody's configured platform: in pass 2 the arm64 node serves it (arm64
        # machines list arm/v7 as compatible) unless a node reports arm/v7 itself.
        [node("x86", AMD, (AMD,)), node("pi", ARM, (ARM,))],
        f"{AMD},{V7}",
        [(AMD, "x86", "native", "configured"), (V7, "pi", "emulated", "configured")],
        id="compatible-platform-in-pass-2",
    ),
    pytest.param(
        # A closer match on a later node takes over: node a serves arm/v7 through arm64, node b
        # lists arm/v7 itself.
        [node("a", ARM, (ARM,)), node("b", ARM, (V7,))],
        f"{V7},linux/386",
        [(V7, "b", "emulated", "configured"), ("linux/386", "a", "emulated", "first node")],
        id="exact-match-beats-compatible",
    ),
    pytest.param(
        [node("x86", AMD, (AMD,)), node("pi", ARM, (ARM,))],
        "linux/riscv64",
        [("linux/riscv64", "x86", "emulated", "first node")],
        id="no-node-matches-first-node",
    ),
    pytest.param(
        [node("x86", AMD, (AMD,)), node("unknown", None, (ARM,))],
        ARM,
        [(ARM, "unknown", "unknown", "configured")],
        id="daemon-not-answering-unknown",
    ),
]


@pytest.mark.parametrize(("nodes", "platforms", "expected"), CASES)
def test_routes(
    nodes: list[RouteNode], platforms: str, expected: list[tuple[str, str, str, str]]
) -> None:
    assert routed(nodes, platforms) == expected


def test_separate_builds_route_each_platform_on_its_own() -> None:
    """One build per platform: arm64 alone is a configured platform, so pass 1 sends it to the
    arm64 node, where the multi-platform build would have sent it to the x86 node."""
    nodes = [node("x86", AMD, (), AMD_WITH_QEMU), node("pi", ARM, (ARM,), [ARM, V7])]
    assert routed(nodes, f"{AMD},{ARM}", separately=True) == [
        (AMD, "x86", "native", "reported"),
        (ARM, "pi", "native", "configured"),
    ]


def test_nodes_not_running_are_predicted_from_their_own_platform() -> None:
    nodes = [node("x86", AMD, ()), node("pi", ARM, (ARM,))]
    plan = plan_routes("b", "docker-container", nodes, parse_list([f"{AMD},{ARM}"]))
    assert [(r.node, r.matched) for r in plan.routes] == [
        ("x86", "predicted"),
        ("pi", "configured"),
    ]
    assert any("not running: x86, pi" in w for w in plan.warnings)


def test_a_node_without_configured_platforms_is_warned_about() -> None:
    nodes = [node("x86", AMD, ()), node("pi", ARM, (ARM,))]
    [warning, *_] = plan_routes("b", "docker-container", nodes, [parse(ARM)]).warnings
    assert warning.startswith("node 'x86' has no configured platforms")
    one = plan_routes("default", "docker", [node("default", AMD)], [parse(ARM)])
    assert one.warnings == []


def test_workers_are_asked_only_when_a_platform_is_not_configured() -> None:
    nodes = [node("x86", AMD, (AMD,)), node("pi", ARM, (ARM,))]
    assert not uses_workers(nodes, parse_list([f"{AMD},{ARM}"]))
    assert uses_workers(nodes, parse_list([f"{AMD},{V7}"]))
    assert not uses_workers([node("only", AMD)], parse_list([V7]))


@pytest.mark.parametrize(
    ("platform", "vector"),
    [
        (AMD, [AMD, "linux/386"]),
        ("linux/amd64/v3", ["linux/amd64/v3", "linux/amd64/v2", AMD, "linux/386"]),
        (ARM, [ARM, "linux/arm/v8", V7, "linux/arm/v6", "linux/arm/v5"]),
        (V7, [V7, "linux/arm/v6", "linux/arm/v5"]),
        ("linux/arm/v6", ["linux/arm/v6", "linux/arm/v5"]),
        ("linux/riscv64", ["linux/riscv64"]),
    ],
)
def test_platform_vector_is_containerds(platform: str, vector: list[str]) -> None:
    assert [str(p) for p in platform_vector(parse(platform))] == vector


def test_require_native_names_the_platform_and_the_nodes_that_could_serve_it() -> None:
    nodes = [node("x86", AMD, (), AMD_WITH_QEMU), node("pi", ARM, (ARM,), [ARM])]
    plan = plan_routes("multi", "docker-container", nodes, parse_list([f"{AMD},{ARM}"]))
    with pytest.raises(NotNative) as caught:
        refuse_emulated(plan)
    assert str(caught.value) == (
        "native builds required, but linux/arm64 would be emulated on node 'x86' (linux/amd64); "
        "nodes that run it natively: 'pi' (list linux/arm64 in their configured platforms so "
        "buildx sends it there)"
    )
    assert caught.value.details[0].split() == [
        "PLATFORM",
        "NODE",
        "ENDPOINT",
        "NODE",
        "PLATFORM",
        "RUNS",
        "MATCHED",
        "BY",
    ]


def test_require_native_when_no_node_is_native() -> None:
    plan = plan_routes("default", "docker", [node("default", AMD)], parse_list([f"{AMD},{ARM}"]))
    with pytest.raises(
        NotNative,
        match="linux/arm64 would be emulated on node 'default' "
        r"\(linux/amd64\); no node of builder 'default' runs it natively",
    ):
        refuse_emulated(plan)


def test_require_native_passes_when_every_platform_is_native() -> None:
    nodes = [node("x86", AMD, (AMD,)), node("pi", ARM, (ARM,))]
    refuse_emulated(plan_routes("b", "docker-container", nodes, parse_list([f"{AMD},{ARM}"])))


def test_plan_lines_name_each_node() -> None:
    nodes = [node("x86", AMD, (AMD,)), node("pi", ARM, (ARM,))]
    lines = plan_lines(plan_routes("b", "docker-container", nodes, parse_list([f"{AMD},{ARM}"])))
    assert [line.split() for line in lines[1:]] == [
        [AMD, "x86", "x86", AMD, "native", "configured"],
        [ARM, "pi", "pi", ARM, "native", "configured"],
    ]
