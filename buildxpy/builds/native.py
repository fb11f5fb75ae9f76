"""Builds that know where each platform runs: the routing plan, made while docker builds (or before,
to refuse emulated platforms when native builds are required), and the emulation-cost report after
it. Builds by digest and split builds are in ``digest_builds``, loaded only when asked for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Generic, TypeVar

from buildxpy import log
from buildxpy.builds.bases import prepare_bases
from buildxpy.builds.defaults import complete
from buildxpy.builds.one_build import BuildResult, build_image, check_build_inputs, verify_built
from buildxpy.builds.reporting import (
    NativeOptions,
    capturing,
    finish_report,
    plan_build,
    progress_capture,
    timed,
    with_rawjson,
)
from buildxpy.builds.spec import BuildSpec
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError

if TYPE_CHECKING:
    from buildxpy.builders.routing import RoutingPlan
    from buildxpy.builds.report import BuildReport
    from buildxpy.builds.results import NativeBuildResult
    from buildxpy.exports.tarballs import ExportResult

T = TypeVar("T")


def native_build(
    spec: BuildSpec, runner: Runner | None = None, options: NativeOptions | None = None
) -> NativeBuildResult:
    runner = runner or Runner()
    options = options or NativeOptions()
    if options.split or options.by_digest:
        # Only these load the digest records' and the merge's machinery.
        from buildxpy.split.builds import digest_build, split_build

        return (split_build if options.split else digest_build)(spec, runner, options)
    check_build_inputs(spec)
    spec = prepare_bases(spec, runner)
    # Tags from git and the default cache first: a checkout that has none is said before docker
    # is asked anything.
    spec = complete(spec, runner)
    later = Later(functools.partial(plan_build, spec, runner))
    if options.require_native:
        from buildxpy.builders.routing import refuse_emulated

        refuse_emulated(later.result())
    else:
        # Only the report needs the plan: it is made, and logged, while docker builds.
        runner.while_running(later.run)
    runner.while_running(_prepare_models)
    capture = progress_capture(spec, options.report, runner)
    # The clock stops with the build: the check of what it pushed is no part of its time.
    with capturing(runner, capture), timed() as clock:
        built = build_image(replace(with_rawjson(spec, capture), verify=False), runner,
                            completed=True)  # fmt: skip
    result = verify_built(runner, spec, built)
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
    from buildxpy.builds.results import NativeBuildResult

    # Every value is already a checked model or field of one: constructed, not validated again,
    # which would build the schema of every model a result can hold.
    return NativeBuildResult.model_construct(**dict(result), plan=plan, report=report)


def _prepare_models() -> None:
    """The result's and the report's modules, loaded while docker builds."""
    from buildxpy.builds.report import BuildReport  # noqa: F401
    from buildxpy.builds.results import NativeBuildResult  # noqa: F401


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


# --------------------------------------------------------------------------- export


def export_with_report(
    spec: BuildSpec, runner: Runner, *, load: bool, report: bool | None
) -> tuple[list[ExportResult], RoutingPlan, BuildReport | None]:
    """``export`` with its routing plan before and the emulation-cost report after."""
    from buildxpy.exports.tarballs import checked_plan, export_images

    checked_plan(spec)
    spec = complete(spec, runner, exporting=True)
    plan = plan_build(spec, runner, separately=True)
    capture = progress_capture(spec, report, runner)
    with capturing(runner, capture), timed() as clock:
        results = export_images(
            with_rawjson(spec, capture), runner=runner, load=load, completed=True
        )
    return results, plan, finish_report(spec, capture, plan, clock)
