"""The preflight of a build: every base image its target needs, asked of the registry once and
all at once, and the build refused in one line when a base lacks a platform or does not exist.

A registry that cannot be asked (unreachable, refusing our credentials) and a base that cannot be
named before the build (a variable nothing declares) do not stop the build: they are logged as
warnings, and the build finds out for itself.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from buildxpy import log
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError, ConfigError
from buildxpy.manifests.registry import parse_reference
from buildxpy.platforms.names import Platform, host_platform, parse
from buildxpy.preflight.bases import Served, Unread, read_bases
from buildxpy.preflight.dockerfile import Dockerfile
from buildxpy.preflight.matching import serves
from buildxpy.preflight.plan import Base, Unresolved, plan_bases
from buildxpy.preflight.remembered import covers, recall, remember, store

BYPASS_HINT = "pass --no-preflight to build anyway"


@dataclass(frozen=True, slots=True)
class BaseVerdict:
    ref: str
    # The platforms the build pulls this base for.
    wanted: tuple[Platform, ...]
    # What the registry serves under it; empty when it could not be read.
    served: tuple[Platform, ...] = ()
    missing: tuple[Platform, ...] = ()
    not_found: bool = False
    # Why it could not be read (not_found, or a registry failure that was let pass).
    problem: str | None = None

    @property
    def refused(self) -> bool:
        return self.not_found or bool(self.missing)


@dataclass(frozen=True, slots=True)
class PreflightReport:
    bases: tuple[BaseVerdict, ...]
    # Bases that could not be named before the build (or not as references): not checked.
    unchecked: tuple[Unresolved, ...]
    elapsed_ms: int

    @property
    def ok(self) -> bool:
        return not any(verdict.refused for verdict in self.bases)

    def error_message(self) -> str:
        parts = [
            f"{v.ref} not found" if v.not_found
            else f"{v.ref} has no {', '.join(str(p) for p in v.missing)}"
            for v in self.bases if v.refused
        ]  # fmt: skip
        return f"preflight: {'; '.join(parts)} ({BYPASS_HINT})"


class PreflightFailed(BuildxpyError):
    """A base image of the build lacks a target platform, or does not exist."""

    def __init__(self, report: PreflightReport) -> None:
        super().__init__(report.error_message())
        self.report = report


def preflight(
    runner: Runner,
    *,
    dockerfile_text: str | Dockerfile,
    platforms: Sequence[Platform | str],
    target: str | None = None,
    build_args: Mapping[str, str | None] | None = None,
    build_contexts: Mapping[str, str] | None = None,
    build_platform: Platform | str | None = None,
    builder: str | None = None,
) -> PreflightReport:
    """Check that every base image the build of ``target`` pulls has each platform it is pulled
    for, before the build. ``platforms``: the build's target platforms (none: the build
    platform's); ``build_platform``: where the builder runs (default: this machine), what
    ``FROM --platform=$BUILDPLATFORM`` pulls for; ``builder``: the builder whose registry
    settings apply. ``dockerfile_text`` may be the Dockerfile already parsed.

    Raises ``PreflightFailed`` naming each base that lacks a platform or is not found; returns
    the report otherwise, bases the registry could not describe and bases that could not be
    named included (each logged as a warning).
    """
    started = time.monotonic()
    build = _platform(build_platform) if build_platform is not None else host_platform()
    targets = [_platform(p) for p in platforms] or [build]
    plan = plan_bases(
        dockerfile_text, platforms=targets, build_platform=build, target=target,
        build_args=build_args, build_contexts=build_contexts,
    )  # fmt: skip
    bases, invalid = _valid(plan.bases)
    answers = _answers(runner, bases, builder)
    report = PreflightReport(
        bases=tuple(_verdict(base, answers[base.ref]) for base in bases),
        unchecked=(*plan.unresolved, *invalid),
        elapsed_ms=round((time.monotonic() - started) * 1000),
    )
    _log(report)
    if not report.ok:
        raise PreflightFailed(report)
    return report


def _answers(
    runner: Runner, bases: Sequence[Base], builder: str | None
) -> dict[str, Served | Unread]:
    """Each base's answer: remembered when it had every platform wanted, else the registry's."""
    path = store(runner)
    known = recall(path, builder, [base.ref for base in bases])
    fresh = [b.ref for b in bases if b.ref not in known or not covers(known[b.ref], b.platforms)]
    answers: dict[str, Served | Unread] = {**known, **read_bases(runner, fresh, builder)}
    good = {
        b.ref: answer for b in bases if b.ref in fresh
        and isinstance(answer := answers[b.ref], Served) and covers(answer, b.platforms)
    }  # fmt: skip
    if not runner.dry_run:
        remember(path, builder, good)
    return answers


def _platform(value: Platform | str) -> Platform:
    return value if isinstance(value, Platform) else parse(value)


def _valid(bases: Sequence[Base]) -> tuple[list[Base], list[Unresolved]]:
    """Bases whose names are image references; the others go unchecked (BuildKit will say)."""
    valid: list[Base] = []
    invalid: list[Unresolved] = []
    for base in bases:
        try:
            parse_reference(base.ref, what="base image")
        except ConfigError as exc:
            invalid.append(Unresolved(base.ref, None, str(exc)))
        else:
            valid.append(base)
    return valid, invalid


def _verdict(base: Base, answer: Served | Unread) -> BaseVerdict:
    if isinstance(answer, Unread):
        return BaseVerdict(base.ref, base.platforms, not_found=answer.not_found,
                           problem=answer.reason)  # fmt: skip
    missing = tuple(p for p in base.platforms if not serves(answer.platforms, p))
    return BaseVerdict(base.ref, base.platforms, answer.platforms, missing)


def _log(report: PreflightReport) -> None:
    logger = log.get()
    for item in report.unchecked:
        logger.warning("preflight: base not checked", base=item.text, line=item.line,
                       reason=item.reason)  # fmt: skip
    for verdict in report.bases:
        if verdict.problem and not verdict.not_found:
            logger.warning("preflight: cannot read base image, not checked", base=verdict.ref,
                           reason=verdict.problem)  # fmt: skip
    logger.info("preflight", bases=[v.ref for v in report.bases], elapsed_ms=report.elapsed_ms,
                ok=report.ok)  # fmt: skip
