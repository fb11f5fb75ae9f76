"""The preflight of one build: its Dockerfile's base images asked of the registry before anything
is built (``buildxpy.preflight``), with the build's own arguments, contexts and builder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from buildxpy import log
from buildxpy.builds.spec import BuildSpec
from buildxpy.docker.runner import Runner
from buildxpy.platforms.names import Platform


def check_bases(
    spec: BuildSpec, runner: Runner, platforms: Sequence[Platform] | None = None
) -> None:
    """Refuse the build (``PreflightFailed``) when a base lacks one of ``platforms`` (default:
    the spec's). Nothing is asked when the spec turns preflight off, when it only runs a
    ``--call`` method, or when the Dockerfile is not a local file buildxpy can read."""
    if not spec.preflight or spec.call not in (None, "build"):
        return
    text = _dockerfile_text(spec)
    if text is None:
        return
    # Loaded only when asked for: a build with --no-preflight does not pay for the parser.
    from buildxpy.preflight import preflight

    # A bare KEY takes its value from the environment, as buildx does.
    build_args = {
        key: value if value is not None else os.environ.get(key)
        for key, value in spec.build_args.items()
    }
    preflight(
        runner,
        dockerfile_text=text,
        platforms=list(platforms or spec.platforms),
        target=spec.target,
        build_args=build_args,
        build_contexts=spec.build_contexts,
        builder=spec.builder,
    )


def _dockerfile_text(spec: BuildSpec) -> str | None:
    if "://" in spec.context or spec.context == "-" or spec.context.startswith("git@"):
        log.get().debug("preflight skipped: the context is not a local directory",
                        context=spec.context)  # fmt: skip
        return None
    # buildx reads -f relative to the working directory, and Dockerfile in the context without it.
    path = Path(spec.dockerfile) if spec.dockerfile else Path(spec.context) / "Dockerfile"
    if spec.dockerfile == "-":
        return None
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        # buildx says what is wrong with a Dockerfile it cannot read.
        log.get().debug("preflight skipped: the Dockerfile cannot be read", path=str(path),
                        reason=exc.strerror)  # fmt: skip
        return None
