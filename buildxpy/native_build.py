"""Builds that know where each platform runs: the routing plan, made while docker builds (or before,
to refuse emulated platforms when native builds are required), and the emulation-cost report after
it. Builds by digest and split builds are in ``digest_builds``, loaded only when asked for.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from buildxpy import log
from buildxpy.build_defaults import complete
from buildxpy.build_spec import BuildSpec
from buildxpy.errors import BuildxpyError
from buildxpy.image_build import BuildResult, build_image, check_build_inputs
from buildxpy.platforms import Platform
from buildxpy.progress_json import ProgressCapture, Shown
from buildxpy.record import Record, field, replace
from buildxpy.runner import Runner

if TYPE_CHECKING:
    from buildxpy.build_report import BuildReport
    from buildxpy.build_results import NativeBuildResult
    from buildxpy.image_export import ExportResult
    from buildxpy.merge_options import Require
    from buildxpy.routing import RoutingPlan

T = TypeVar("T")


class NativeOptions(Record):
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
    from buildxpy.routing_facts import routing_plan

    plan = routing_plan(runner, builder, platforms, separately=separately)
    for warning in plan.warnings:
        log.get().warning("routing", builder=plan.builder, note=warning)
    log.get().info("routing", builder=plan.builder, driver=plan.driver, platforms=plan.summary())
    return plan


def native_build(
    spec: BuildSpec, runner: Runner | None = None, options: NativeOptions | None = None
) -> NativeBuildResult:
    runner = runner or Runner()
    options = options or NativeOptions()
    if options.split or options.by_digest:
        # Only these load the digest records' and the merge's machinery.
        from buildxpy.digest_builds import digest_build, split_build

        return (split_build if options.split else digest_build)(spec, runner, options)
    check_build_inputs(spec)
    # Tags from git and the default cache first: a checkout that has none is said before docker
    # is asked anything.
    spec = complete(spec, runner)
    later = Later(functools.partial(plan_build, spec, runner))
    if options.require_native:
        from buildxpy.routing import refuse_emulated

        refuse_emulated(later.result())
    else:
        # Only the report needs the plan: it is made, and logged, while docker builds.
        runner.while_running(later.run)
    runner.while_running(_prepare_models)
    capture = progress_capture(spec, options.report, runner)
    with capturing(runner, capture), timed() as clock:
        result = build_image(with_rawjson(spec, capture), runner, completed=True)
    try:
        plan = later.result()
    except BuildxpyError as exc:
        log.get().warning("no routing plan and no emulation report", reason=exc.message)
        return _native_result(result, None, None)
    report = finish_report(spec, capture, plan, clock)
    return _native_result(result, plan, report)


def _native_result(
    result: BuildResult, plan: RoutingPlan | None, report: BuildReport | None
) -> NativeBuildResult:
    from buildxpy.build_results import NativeBuildResult

    # Every value is already a checked model or field of one: constructed, not validated again,
    # which would build the schema of every model a result can hold.
    return NativeBuildResult.model_construct(**dict(result), plan=plan, report=report)


def _prepare_models() -> None:
    """The result's and the report's modules, loaded while docker builds."""
    from buildxpy.build_report import BuildReport  # noqa: F401
    from buildxpy.build_results import NativeBuildResult  # noqa: F401


class Later(Generic[T]):
    """A value made at most once: in ``run`` (given to ``Runner.while_running``) or on first ask.
    An error is kept for ``result`` rather than raised while a docker command is running."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._begun = False
        self._made: tuple[T] | None = None
        self._error: BuildxpyError | None = None

    def run(self) -> None:
        # Once only, also when ``make`` itself starts the docker command that would call it again.
        if not self._begun:
            self._begun = True
            try:
                self._made = (self._make(),)
            except BuildxpyError as exc:
                self._error = exc

    def result(self) -> T:
        self.run()
        if self._made is not None:
            return self._made[0]
        raise self._error or BuildxpyError("no value was made")


# --------------------------------------------------------------------------- progress and report


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


class Clock(Record, frozen=False):
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
    from buildxpy.build_report import build_stage_platforms, make_report

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


# --------------------------------------------------------------------------- export


def export_with_report(
    spec: BuildSpec, runner: Runner, *, load: bool, report: bool | None
) -> tuple[list[ExportResult], RoutingPlan, BuildReport | None]:
    """``export`` with its routing plan before and the emulation-cost report after."""
    from buildxpy.image_export import checked_plan, export_images

    checked_plan(spec)
    spec = complete(spec, runner, exporting=True)
    plan = plan_build(spec, runner, separately=True)
    capture = progress_capture(spec, report, runner)
    with capturing(runner, capture), timed() as clock:
        results = export_images(
            with_rawjson(spec, capture), runner=runner, load=load, completed=True
        )
    return results, plan, finish_report(spec, capture, plan, clock)
