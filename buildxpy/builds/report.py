"""What emulation cost a build: per platform, the node it ran on, native or emulated, the time its
steps took, the slowest emulated ``RUN`` steps, and stages that only compile under QEMU.

Step names say which platform a step is for in multi-platform builds: ``[linux/arm64 build 2/3] RUN
…``, or ``[linux/amd64->arm64 build 2/3]`` for a stage that runs on the build platform for an arm64
target (``FROM --platform=$BUILDPLATFORM``). Steps without a platform (``[internal] load build
definition``, ``exporting to image``) are shared by all of them. In a one-platform build no step
names a platform: every step is that platform's, and which stages run on ``$BUILDPLATFORM`` is read
from the Dockerfile when it is a local file.

Times: ``wall_s`` is how long at least one of the platform's steps was running. Several platforms
build at once, so these overlap; ``share_s`` splits every moment of the build equally among the
platforms (and the shared steps) running a step at that moment, so that the shares and
``shared_s`` add up to ``busy_s``, the time during which any step ran. ``busy_s`` is what is compared
with the wall time of the ``docker buildx build`` processes (``wall_s`` of the report).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from pydantic import Field

from buildxpy.builders.routing import RoutingPlan
from buildxpy.builds.progress import Step, StepLog
from buildxpy.errors import ConfigError
from buildxpy.platforms.emulation import runs_natively
from buildxpy.platforms.names import KNOWN_OS, parse
from buildxpy.result_model import ResultModel

SHARED = ""
SLOWEST = 3
# Patterns are strings: `re` compiles each on first use and keeps it (most builds emulate nothing).
_INDEX = r"^\d+/\d+$"
COMPILERS = (
    r"\b(go (?:build|install)|cargo (?:build|install)|rustc|gcc|g\+\+|clang(?:\+\+)?|make|cmake|"
    r"ninja|meson|javac|mvn|gradle|dotnet (?:build|publish)|tsc|(?:npm|yarn|pnpm) (?:run )?build|"
    r"zig build|swift build|ghc|cabal build|stack build)\b"
)

INSTALLS = r"\b(?:apt-get|apt|apk|yum|dnf|microdnf|zypper|pip3?|npm|gem) (?:install|add|ci)\b"


class SlowStep(ResultModel):
    name: str
    stage: str | None = None
    seconds: float


class PlatformReport(ResultModel):
    platform: str
    node: str | None
    native: bool | None
    wall_s: float
    share_s: float
    steps: int
    cached: int
    # How long at least one of its emulated RUN steps was running.
    emulated_s: float
    slowest_emulated_runs: list[SlowStep] = Field(default=[])
    # Emulated stages that only compile: they could run natively and cross-compile.
    cross_compile: list[str] = Field(default=[])


class BuildReport(ResultModel):
    platforms: list[PlatformReport]
    shared_s: float
    busy_s: float
    # Wall time of the `docker buildx build` process(es), as buildxpy measured it.
    wall_s: float | None = None
    # buildx's own time outside any step: start-up and session before the first, the metadata
    # file and exit after the last (wall_s - busy_s).
    outside_steps_s: float | None = None
    source: str = "buildx --progress rawjson"


@dataclass(frozen=True, slots=True)
class Named:
    """What a step's name says."""

    target: str  # the platform it builds for; SHARED for none
    runs_on: str | None  # the platform its code executes as, when the name says
    stage: str | None
    command: str


def parse_name(name: str, single: str | None = None) -> Named:
    """``[linux/amd64->arm64 build 2/3] RUN make`` -> target linux/arm64, runs on linux/amd64,
    stage ``build``, command ``RUN make``."""
    if not name.startswith("[") or "]" not in name:
        return Named(single or SHARED, single, None, name)
    inside, _, command = name[1:].partition("]")
    words = inside.split()
    runs_on = target = None
    if words and words[0].split("/", 1)[0] in KNOWN_OS and "/" in words[0]:
        runs_on, _, cross = words.pop(0).partition("->")
        target = _cross_target(runs_on, cross) if cross else runs_on
    if words and re.match(_INDEX, words[-1]):
        words.pop()
    stage = " ".join(words) or None
    if stage == "internal":
        stage = None
    if target is None:
        target, runs_on = single or SHARED, single
    return Named(target, runs_on, stage, command.strip())


def _cross_target(runs_on: str, cross: str) -> str:
    """``->arm64`` keeps the OS of the platform it runs on; ``->windows/amd64`` names its own."""
    first = cross.split("/", 1)[0]
    text = cross if first in KNOWN_OS else f"{runs_on.split('/', 1)[0]}/{cross}"
    return _normal(text)


def _normal(text: str) -> str:
    try:
        return str(parse(text))
    except ConfigError:
        return text


def build_stage_platforms(dockerfile: Path | None) -> dict[str, str]:
    """Stages whose ``FROM`` names a platform (``--platform=$BUILDPLATFORM``): stage -> that value.
    Unnamed stages are ``stage-N``, as BuildKit names them in step names."""
    if dockerfile is None:
        return {}
    try:
        text = dockerfile.read_text(errors="replace")
    except OSError:
        return {}
    stages: dict[str, str] = {}
    index = 0
    for line in _instructions(text):
        words = line.split()
        if not words or words[0].upper() != "FROM":
            continue
        flag = next((w.split("=", 1)[1] for w in words if w.startswith("--platform=")), None)
        upper = [w.upper() for w in words]
        name = words[upper.index("AS") + 1] if "AS" in upper[:-1] else f"stage-{index}"
        if flag:
            stages[name] = flag
        index += 1
    return stages


def _instructions(text: str) -> Iterable[str]:
    joined = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not joined and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            joined += line[:-1] + " "
            continue
        yield joined + line
        joined = ""
    if joined:
        yield joined


def make_report(
    logs: Sequence[StepLog],
    plan: RoutingPlan | None,
    *,
    wall_s: float | None = None,
    build_platform_stages: Mapping[str, str] | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> BuildReport:
    """``window``: when the build processes ran. BuildKit shares a step with another build on the
    same daemon that has the very same definition, and then reports that build's runs of it too;
    what lies outside the window is not this build's."""
    staged = build_platform_stages or {}
    named: list[tuple[Step, Named]] = []
    for log in logs:
        single = log.platform
        steps = [clipped(step, window) for step in log.ordered()] if window else log.ordered()
        named += [(step, _named(step, single, staged, plan)) for step in steps if step.runs]
    per_target: dict[str, list[tuple[Step, Named]]] = defaultdict(list)
    for step, info in named:
        per_target[info.target].append((step, info))
    shares, busy = _shares({t: _intervals(s for s, _ in items) for t, items in per_target.items()})
    wanted = [r.platform for r in plan.routes] if plan else []
    targets = list(dict.fromkeys([*wanted, *(t for t in per_target if t != SHARED)]))
    reports = [
        _platform_report(target, per_target.get(target, []), plan, shares.get(target, 0.0))
        for target in targets
    ]
    return BuildReport.model_construct(
        platforms=reports,
        shared_s=round(shares.get(SHARED, 0.0), 3),
        busy_s=round(busy, 3),
        wall_s=None if wall_s is None else round(wall_s, 3),
        outside_steps_s=None if wall_s is None else round(wall_s - busy, 3),
    )


def _named(
    step: Step, single: str | None, staged: Mapping[str, str], plan: RoutingPlan | None
) -> Named:
    info = parse_name(step.name, single)
    on_build_platform = "BUILDPLATFORM" in staged.get(info.stage or "", "")
    if single and on_build_platform and plan:
        route = plan.route_for(single)
        if route and route.node_platform:
            return Named(info.target, route.node_platform, info.stage, info.command)
    return info


def _platform_report(
    target: str, items: list[tuple[Step, Named]], plan: RoutingPlan | None, share: float
) -> PlatformReport:
    route = plan.route_for(target) if plan else None
    host = route.node_platform if route else None
    emulated = [(s, n) for s, n in items if _is_emulated(host, n)]
    runs = [(s, n) for s, n in emulated if not s.cached]
    slowest = sorted(runs, key=lambda item: item[0].seconds, reverse=True)[:SLOWEST]
    return PlatformReport.model_construct(
        platform=target,
        node=route.node if route else None,
        native=route.native if route else None,
        wall_s=round(_length(_intervals(s for s, _ in items)), 3),
        share_s=round(share, 3),
        steps=len(items),
        cached=sum(1 for s, _ in items if s.cached),
        emulated_s=round(_length(_intervals(s for s, _ in emulated)), 3),
        slowest_emulated_runs=[
            SlowStep.model_construct(name=s.name, stage=n.stage, seconds=round(s.seconds, 3))
            for s, n in slowest
        ],
        cross_compile=cross_compile_hints(emulated, items),
    )


def _is_emulated(host: str | None, info: Named) -> bool:
    """A ``RUN`` step whose code the node cannot execute itself (other steps run no code)."""
    if host is None or info.runs_on is None or not info.command.upper().startswith("RUN"):
        return False
    try:
        return not runs_natively(parse(host), parse(info.runs_on))
    except ConfigError:
        return False


def cross_compile_hints(
    emulated: Sequence[tuple[Step, Named]], everything: Sequence[tuple[Step, Named]]
) -> list[str]:
    """Emulated stages whose files reach the image only through ``COPY --from`` and whose
    emulated ``RUN`` steps compile: on ``$BUILDPLATFORM`` they would run natively."""
    hints = []
    stages = dict.fromkeys(n.stage for _, n in emulated if n.stage)
    for stage in stages:
        copied = re.compile(rf"--from={re.escape(stage)}(?:\s|$)")
        if not any(copied.search(n.command) for _, n in everything if n.stage != stage):
            continue
        runs = sorted((s for s, n in emulated if n.stage == stage), key=lambda s: -s.seconds)
        tools = [tool for s in runs for tool in [compiler_in(parse_name(s.name).command)] if tool]
        if tools:
            hints.append(
                f"stage {stage!r} only compiles ({tools[0]}) under emulation: "
                f"`FROM --platform=$BUILDPLATFORM …` and cross-compiling for $TARGETPLATFORM "
                "would run it natively"
            )
    return hints


def compiler_in(command: str) -> str | None:
    """The compiler or build tool a ``RUN`` command runs; installing one does not count."""
    for part in re.split(r"&&|\|\||;|\n", command):
        if re.search(INSTALLS, part):
            continue
        found = re.search(COMPILERS, part)
        if found:
            return found.group(1)
    return None


Interval = tuple[datetime, datetime]


def clipped(step: Step, window: tuple[datetime, datetime]) -> Step:
    low, high = window
    runs: list[tuple[datetime, datetime | None]] = []
    for start, end in step.runs:
        if end is None or end <= low or start >= high:
            continue
        runs.append((max(start, low), min(end, high)))
    return replace(step, runs=runs)


def _intervals(steps: Iterable[Step]) -> list[Interval]:
    spans = sorted((start, end) for step in steps for start, end in step.runs if end is not None)
    merged: list[Interval] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _length(intervals: Iterable[Interval]) -> float:
    return sum((end - start).total_seconds() for start, end in intervals)


def _shares(per_target: Mapping[str, list[Interval]]) -> tuple[dict[str, float], float]:
    """Each moment split equally among the targets with a step running then; and the total."""
    events = sorted(
        (moment, delta, target)
        for target, intervals in per_target.items()
        for start, end in intervals
        for moment, delta in ((start, 1), (end, -1))
    )
    shares: dict[str, float] = defaultdict(float)
    active: dict[str, int] = defaultdict(int)
    busy = 0.0
    previous: datetime | None = None
    for moment, delta, target in events:
        running = [t for t, count in active.items() if count > 0]
        if previous is not None and running:
            span = (moment - previous).total_seconds()
            busy += span
            for name in running:
                shares[name] += span / len(running)
        active[target] += delta
        previous = moment
    return dict(shares), busy
