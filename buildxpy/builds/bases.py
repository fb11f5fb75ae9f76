"""A build's base images before it starts: the pins of ``buildxpy.lock`` put in as named build
contexts (``pins``), then the preflight (``buildxpy.preflight``): each base the registry is asked
about (a pinned one is checked against the platforms its lock entry lists), and the build refused
in one line when one lacks a target platform."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from buildxpy import log
from buildxpy.builds.spec import BuildSpec
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError, ConfigError
from buildxpy.platforms.names import Platform, host_platform, parse

if TYPE_CHECKING:
    from buildxpy.preflight.dockerfile import Dockerfile


def prepare_bases(
    spec: BuildSpec, runner: Runner, platforms: Sequence[Platform] | None = None
) -> BuildSpec:
    """``spec`` with its pinned bases as named contexts, once its bases passed the preflight for
    ``platforms`` (default: the spec's). Raises ``PreflightFailed`` or a one-line ``ConfigError``
    (a base the lock does not pin)."""
    text = _dockerfile_text(spec)
    if text is None:
        if spec.lock_file is not None and spec.lock_file.is_file():
            log.get().warning("bases not pinned: buildxpy cannot read this build's Dockerfile, "
                              "so buildxpy.lock does not apply", lock=str(spec.lock_file))  # fmt: skip
        return spec
    wanted = list(platforms or spec.platforms)
    pinned = _pinned(spec, text, wanted)
    if spec.preflight and spec.call in (None, "build"):
        _preflight(spec, runner, text, wanted, pinned)
    return replace(spec, build_contexts={**pinned, **spec.build_contexts}) if pinned else spec


def _pinned(spec: BuildSpec, text: str, wanted: list[Platform]) -> dict[str, str]:
    from buildxpy.pins.lockfile import read_lock

    lock = read_lock(spec.lock_file) if spec.lock_file is not None else None
    if lock is None:
        if spec.reproducible and spec.lock_file is not None and _floating(spec, text, wanted):
            raise ConfigError(
                f"--reproducible needs pinned bases, and there is no {spec.lock_file}: "
                "run buildxpy pin"
            )
        return {}
    from buildxpy.pins.contexts import pinned_contexts

    assert spec.lock_file is not None
    bases = _plan(spec, text, wanted)
    refs = [ref for ref in bases if ref not in spec.build_contexts]
    contexts = pinned_contexts(spec.lock_file, lock, refs)
    _check_locked_platforms(spec.lock_file, {r: lock[r].platforms for r in contexts}, bases)
    return contexts


def _floating(spec: BuildSpec, text: str, wanted: list[Platform]) -> bool:
    return any("@sha256:" not in ref for ref in _plan(spec, text, wanted))


def _check_locked_platforms(
    lock: Path, locked: Mapping[str, Mapping[str, str]], bases: Mapping[str, tuple[Platform, ...]]
) -> None:
    """A pinned base is not asked of the registry: the platforms its lock entry lists stand in."""
    from buildxpy.preflight.matching import serves

    short = []
    for ref, platforms in locked.items():
        served = [parse(p) for p in platforms]
        lacking = [str(p) for p in bases[ref] if served and not serves(served, p)]
        if lacking:
            short.append(f"{ref} (pinned in {lock.name}) has no {', '.join(lacking)}")
    if short:
        raise BuildxpyError(f"preflight: {'; '.join(short)} (pass --no-preflight to build anyway)")


def _plan(spec: BuildSpec, text: str, wanted: list[Platform]) -> dict[str, tuple[Platform, ...]]:
    from buildxpy.preflight.plan import plan_bases

    plan = plan_bases(
        _parsed(text), platforms=wanted, build_platform=host_platform(), target=spec.target,
        build_args=_build_args(spec), build_contexts=spec.build_contexts,
    )  # fmt: skip
    return {base.ref: base.platforms for base in plan.bases}


def _preflight(
    spec: BuildSpec, runner: Runner, text: str, wanted: list[Platform], pinned: Mapping[str, str]
) -> None:
    # Loaded only when asked for: a build with --no-preflight does not pay for the parser.
    from buildxpy.preflight import preflight

    preflight(
        runner, dockerfile_text=_parsed(text), platforms=wanted, target=spec.target,
        build_args=_build_args(spec), build_contexts={**spec.build_contexts, **pinned},
        builder=spec.builder,
    )  # fmt: skip


@functools.lru_cache(maxsize=4)
def _parsed(text: str) -> Dockerfile:
    """One parse a build, shared by its pins and its preflight."""
    from buildxpy.preflight.dockerfile import parse_dockerfile

    return parse_dockerfile(text)


def _build_args(spec: BuildSpec) -> dict[str, str | None]:
    # A bare KEY takes its value from the environment, as buildx does.
    return {
        key: value if value is not None else os.environ.get(key)
        for key, value in spec.build_args.items()
    }


def _dockerfile_text(spec: BuildSpec) -> str | None:
    if "://" in spec.context or spec.context == "-" or spec.context.startswith("git@"):
        log.get().debug("bases not checked: the context is not a local directory",
                        context=spec.context)  # fmt: skip
        return None
    if spec.dockerfile == "-":
        return None
    # buildx reads -f relative to the working directory, and Dockerfile in the context without it.
    path = Path(spec.dockerfile) if spec.dockerfile else Path(spec.context) / "Dockerfile"
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        # buildx says what is wrong with a Dockerfile it cannot read.
        log.get().debug("bases not checked: the Dockerfile cannot be read", path=str(path),
                        reason=exc.strerror)  # fmt: skip
        return None


def base_refs(spec: BuildSpec) -> dict[str, tuple[Platform, ...]]:
    """Every base the build of ``spec`` pulls, and for which platforms (for ``buildxpy pin``)."""
    text = _dockerfile_text(spec)
    if text is None:
        raise ConfigError(f"no Dockerfile to read in {spec.context}")
    return _plan(spec, text, list(spec.platforms))
