"""The emulation-cost report: step names, per-platform times and how they add up, the slowest
emulated RUN steps, and stages that could cross-compile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from buildxpy.builders.routing import RouteNode, RoutingPlan, plan_routes
from buildxpy.builds.progress import RawJsonRenderer, Step, StepLog
from buildxpy.builds.report import build_stage_platforms, compiler_in, make_report, parse_name
from buildxpy.platforms.names import parse_list

DATA = Path(__file__).parent.parent / "data"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def on_amd64(platforms: str, *, separately: bool = False) -> RoutingPlan:
    node = RouteNode(name="default", endpoint="default", native="linux/amd64")
    return plan_routes("default", "docker", [node], parse_list([platforms]), separately=separately)


def step(number: int, name: str, start: float, end: float, *, cached: bool = False) -> Step:
    return Step(
        f"sha256:{number}", name, number,
        [(T0 + timedelta(seconds=start), T0 + timedelta(seconds=end))], cached=cached,
    )  # fmt: skip


def log_of(argv_platforms: str, *steps: Step) -> StepLog:
    return StepLog(
        ["docker", "buildx", "build", "--platform", argv_platforms], {s.digest: s for s in steps}
    )


@pytest.mark.parametrize(
    ("name", "single", "expected"),
    [
        ("[linux/arm64 build 2/3] RUN make", None, ("linux/arm64", "linux/arm64", "build", "RUN make")),
        ("[linux/amd64->arm64 build 2/3] RUN go build", None,
         ("linux/arm64", "linux/amd64", "build", "RUN go build")),
        ("[linux/amd64->arm/v7 build 2/3] RUN x", None, ("linux/arm/v7", "linux/amd64", "build", "RUN x")),
        ("[linux/arm64 internal] load metadata for x", None, ("linux/arm64", "linux/arm64", None, "load metadata for x")),
        ("[linux/arm64 2/2] RUN true", None, ("linux/arm64", "linux/arm64", None, "RUN true")),
        ("[internal] load build definition from Dockerfile", None, ("", None, None, "load build definition from Dockerfile")),
        ("exporting to image", None, ("", None, None, "exporting to image")),
        ("[build 2/2] RUN make", "linux/arm64", ("linux/arm64", "linux/arm64", "build", "RUN make")),
        ("[1/2] FROM busybox", "linux/arm/v7", ("linux/arm/v7", "linux/arm/v7", None, "FROM busybox")),
        ("exporting to image", "linux/arm64", ("linux/arm64", "linux/arm64", None, "exporting to image")),
    ],
)  # fmt: skip
def test_step_names(
    name: str, single: str | None, expected: tuple[str, str | None, str | None, str]
) -> None:
    named = parse_name(name, single)
    assert (named.target, named.runs_on, named.stage, named.command) == expected


def test_recorded_build_emulated_platform_is_slower_and_times_add_up() -> None:
    log = StepLog(["docker", "buildx", "build", "--platform", "linux/amd64,linux/arm64"])
    renderer = RawJsonRenderer(log)
    for line in (DATA / "buildx-rawjson-two-platforms.txt").read_text().splitlines(keepends=True):
        renderer.feed(line)
    report = make_report([log], on_amd64("linux/amd64,linux/arm64"), wall_s=1.0)
    amd, arm = report.platforms
    assert (amd.platform, amd.native, arm.platform, arm.native) == (
        "linux/amd64",
        True,
        "linux/arm64",
        False,
    )
    assert arm.wall_s > amd.wall_s
    assert amd.emulated_s == 0.0
    assert amd.slowest_emulated_runs == []
    [slow] = arm.slowest_emulated_runs
    assert slow.name.startswith("[linux/arm64 build 2/2] RUN echo rec1")
    assert slow.stage == "build"
    assert slow.seconds == pytest.approx(arm.emulated_s, abs=0.01)
    assert report.shared_s > 0  # loading the Dockerfile, exporting
    assert amd.share_s + arm.share_s + report.shared_s == pytest.approx(report.busy_s, abs=0.005)
    assert report.wall_s == 1.0


def test_shares_split_concurrent_time_equally() -> None:
    log = log_of(
        "linux/amd64,linux/arm64",
        step(1, "[internal] load build definition from Dockerfile", 0, 1),
        step(2, "[linux/amd64 2/2] RUN work", 1, 3),
        step(3, "[linux/arm64 2/2] RUN work", 1, 7),
        step(4, "exporting to image", 8, 9),
    )
    report = make_report([log], on_amd64("linux/amd64,linux/arm64"))
    amd, arm = report.platforms
    # 1-3 s shared by both (1 s each), 3-7 s arm64 alone; 7-8 s nothing ran.
    assert (amd.wall_s, amd.share_s) == (2.0, 1.0)
    assert (arm.wall_s, arm.share_s) == (6.0, 5.0)
    assert report.shared_s == 2.0
    assert report.busy_s == 8.0
    assert arm.emulated_s == 6.0


def test_separate_builds_are_each_wholly_their_platforms() -> None:
    amd = log_of("linux/amd64", step(1, "[internal] load", 0, 1), step(2, "[2/2] RUN work", 1, 2))
    arm = log_of("linux/arm64", step(1, "[internal] load", 0, 1), step(2, "[2/2] RUN work", 1, 5))
    report = make_report([amd, arm], on_amd64("linux/amd64,linux/arm64", separately=True))
    assert report.shared_s == 0.0
    assert [(p.platform, p.wall_s, p.share_s, p.emulated_s) for p in report.platforms] == [
        ("linux/amd64", 2.0, 1.0, 0.0),
        ("linux/arm64", 5.0, 4.0, 4.0),
    ]
    assert report.busy_s == 5.0


def test_slowest_three_emulated_runs_and_cached_ones_left_out() -> None:
    steps = [step(i, f"[linux/arm64 build {i}/6] RUN step{i}", 0, i) for i in range(1, 6)]
    steps.append(step(6, "[linux/arm64 build 6/6] RUN cached", 0, 9, cached=True))
    report = make_report([log_of("linux/arm64", *steps)], on_amd64("linux/arm64"))
    [arm] = report.platforms
    assert [s.name.split()[-1] for s in arm.slowest_emulated_runs] == ["step5", "step4", "step3"]


def test_a_stage_that_only_compiles_is_named() -> None:
    log = log_of(
        "linux/amd64,linux/arm64",
        step(1, "[linux/arm64 builder 2/3] RUN apt-get install -y gcc", 0, 2),
        step(2, "[linux/arm64 builder 3/3] RUN make -j4 app", 2, 9),
        step(3, "[linux/arm64 stage-1 2/2] COPY --from=builder /src/app /app", 9, 10),
        step(4, "[linux/arm64 tests 2/2] RUN make check", 0, 3),
    )
    [_, arm] = make_report([log], on_amd64("linux/amd64,linux/arm64")).platforms
    [hint] = arm.cross_compile
    assert hint == (
        "stage 'builder' only compiles (make) under emulation: `FROM --platform=$BUILDPLATFORM …` "
        "and cross-compiling for $TARGETPLATFORM would run it natively"
    )


def test_no_hint_for_a_stage_already_on_the_build_platform() -> None:
    log = log_of(
        "linux/amd64,linux/arm64",
        step(1, "[linux/amd64->arm64 builder 2/2] RUN go build -o /app", 0, 2),
        step(2, "[linux/arm64 stage-1 2/2] COPY --from=builder /app /app", 2, 3),
    )
    [_, arm] = make_report([log], on_amd64("linux/amd64,linux/arm64")).platforms
    assert arm.emulated_s == 0.0
    assert arm.cross_compile == []


def test_one_platform_builds_read_build_platform_stages_from_the_dockerfile(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "# syntax=docker/dockerfile:1\n"
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS builder\n"
        "RUN go build \\\n    -o /app\n"
        "FROM alpine\n"
        "COPY --from=builder /app /app\n"
    )
    assert build_stage_platforms(dockerfile) == {"builder": "$BUILDPLATFORM"}
    log = log_of(
        "linux/arm64",
        step(1, "[builder 2/2] RUN go build -o /app", 0, 2),
        step(2, "[stage-1 2/2] COPY --from=builder /app /app", 2, 3),
        step(3, "[stage-1 3/3] RUN ./app --selftest", 3, 5),
    )
    plan = on_amd64("linux/arm64", separately=True)
    [arm] = make_report(
        [log], plan, build_platform_stages=build_stage_platforms(dockerfile)
    ).platforms
    assert [s.name for s in arm.slowest_emulated_runs] == ["[stage-1 3/3] RUN ./app --selftest"]
    assert arm.cross_compile == []


@pytest.mark.parametrize(
    ("command", "tool"),
    [
        ("RUN apt-get install -y gcc make", None),
        ("RUN apt-get install -y gcc && make -j4", "make"),
        ("RUN CGO_ENABLED=0 go build -o /app ./cmd", "go build"),
        ("RUN cargo build --release", "cargo build"),
        ("RUN npm ci && npm run build", "npm run build"),
        ("RUN ./configure && echo done", None),
    ],
)
def test_compilers(command: str, tool: str | None) -> None:
    assert compiler_in(command) == tool


def test_unnamed_stages_are_numbered(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM a\nFROM --platform=linux/amd64 b\nfrom c AS named\n")
    assert build_stage_platforms(dockerfile) == {"stage-1": "linux/amd64"}
    assert build_stage_platforms(tmp_path / "missing") == {}


def test_runs_outside_the_build_belong_to_another_build() -> None:
    """BuildKit shares a step with an identical one of another build on the same daemon and
    reports that build's runs too: only what happened while this build ran counts."""
    shared = step(1, "[internal] load build definition from Dockerfile", 0, 1)
    shared.runs.insert(0, (T0 - timedelta(seconds=30), T0 - timedelta(seconds=29)))
    log = log_of("linux/arm64", shared, step(2, "[2/2] RUN work", 1, 4), step(3, "exporting", 4, 6))
    window = (T0 - timedelta(seconds=0.5), T0 + timedelta(seconds=5))
    [arm] = make_report([log], on_amd64("linux/arm64"), window=window).platforms
    assert arm.wall_s == 5.0
    assert arm.slowest_emulated_runs[0].seconds == 3.0
