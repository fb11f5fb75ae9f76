"""What every build that knows where its platforms run shares, plain or split: the options, the
routing plan, buildxpy's own display of buildx's progress, and the emulation-cost report made from it."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from buildxpy import log
from buildxpy.builds.progress import ProgressCapture, Shown
from buildxpy.builds.spec import BuildSpec
from buildxpy.docker.runner import Runner
from buildxpy.platforms.names import Platform

if TYPE_CHECKING:
    from buildxpy.builders.routing import RoutingPlan
    from buildxpy.builds.report import BuildReport
    from buildxpy.split.options import Require


@dataclass(frozen=True, slots=True)
class NativeOptions:
    require_native: bool = False
    # None: a report whenever buildxpy shows the progress itself (stderr is not a terminal).
    report: bool | None = None
    by_digest: bool = False
    split: bool = False
    # What the merge of a split build insists on.
    require: Require = "all"
    annotations: Mapping[str, str] = field(default_factory=dict)


def plan_build(spec: BuildSpec, runner: Runner, *, separately: bool = False) -> RoutingPlan:
    """Where each platform of ``spec`` will be built; logged as one line."""
    return plan_platforms(runner, spec.builder, spec.platforms, separately=separately)


def plan_platforms(
    runner: Runner, builder: str, platforms: Sequence[Platform], *, separately: bool = False
) -> RoutingPlan:
    from buildxpy.builders.routing_facts import routing_plan

    plan = routing_plan(runner, builder, platforms, separately=separately)
    for warning in plan.warnings:
        log.get().warning("routing", builder=plan.builder, note=warning)
    log.get().info("routing", builder=plan.builder, driver=plan.driver, platforms=plan.summary())
    return plan


def progress_capture(
    spec: BuildSpec, report: bool | None, runner: Runner
) -> ProgressCapture | None:
    """Whether buildxpy shows the progress itself (and so can report): never under --dry-run or
    ``report=False``; with ``report=True`` always; otherwise when stderr is not a terminal and the
    user named no progress mode (``plain``, ``quiet`` and ``tty`` reach buildx as given; ``rawjson``
    is shown as buildx writes it), so that buildx's own display stays as it is."""
    if runner.dry_run or report is False:
        return None
    if report is None and spec.progress in ("plain", "quiet", "tty"):
        return None
    if report is None and _is_terminal():
        log.get().info("no emulation report while buildx draws its own display (--report for one)")
        return None
    shown: Shown = (
        "quiet" if spec.progress == "quiet" else "raw" if spec.progress == "rawjson" else "plain"
    )
    return ProgressCapture(shown)


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def capturing(runner: Runner, capture: ProgressCapture | None) -> Iterator[None]:
    previous = runner.line_filters
    if capture is not None:
        runner.line_filters = capture
    try:
        yield
    finally:
        runner.line_filters = previous


def with_rawjson(spec: BuildSpec, capture: ProgressCapture | None) -> BuildSpec:
    return replace(spec, progress="rawjson") if capture is not None else spec


@dataclass(slots=True)
class Clock:
    """When the builds ran: wall-clock ends (to compare with BuildKit's step times) and the
    monotonic duration."""

    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended: datetime | None = None
    seconds: float = 0.0


@contextlib.contextmanager
def timed() -> Iterator[Clock]:
    clock = Clock()
    begun = time.monotonic()
    try:
        yield clock
    finally:
        clock.seconds = time.monotonic() - begun
        clock.ended = datetime.now(UTC)


def finish_report(
    spec: BuildSpec, capture: ProgressCapture | None, plan: RoutingPlan, clock: Clock
) -> BuildReport | None:
    if capture is None:
        return None
    from buildxpy.builds.report import build_stage_platforms, make_report

    report = make_report(
        capture.logs, plan, wall_s=clock.seconds,
        build_platform_stages=build_stage_platforms(_dockerfile(spec)),
        window=(clock.started, clock.ended or datetime.now(UTC)),
    )  # fmt: skip
    log_report(report)
    return report


def _dockerfile(spec: BuildSpec) -> Path | None:
    if spec.dockerfile and spec.dockerfile != "-":
        return Path(spec.dockerfile)
    context = Path(spec.context)
    return context / "Dockerfile" if "://" not in spec.context and context.is_dir() else None


def log_report(report: BuildReport) -> None:
    logger = log.get()
    for item in report.platforms:
        runs = {True: "native", False: "emulated", None: "unknown"}[item.native]
        logger.info(
            "emulation cost", platform=item.platform, node=item.node, runs=runs,
            wall_s=item.wall_s, share_s=item.share_s, emulated_s=item.emulated_s,
            slowest_emulated=[f"{s.name} ({s.seconds:.1f}s)" for s in item.slowest_emulated_runs],
        )  # fmt: skip
        for hint in item.cross_compile:
            logger.warning(
                "cross-compiling would avoid emulation", platform=item.platform, hint=hint
            )
    logger.info(
        "build time", busy_s=report.busy_s, shared_s=report.shared_s, wall_s=report.wall_s,
        outside_steps_s=report.outside_steps_s,
    )  # fmt: skip
