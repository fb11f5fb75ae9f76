"""``--reproducible``: every timestamp a build writes comes from ``SOURCE_DATE_EPOCH`` (the variable
when set, else the committer time of the checkout), and BuildKit rewrites the files' times to it
(``rewrite-timestamp=true`` on the image, docker and OCI exporters), so that one commit builds the
same image, byte for byte, per platform."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from buildxpy import log
from buildxpy.builds.spec import BuildSpec
from buildxpy.ci.git_facts import commit_epoch
from buildxpy.ci.git_queries import source_directory
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError, ConfigError

# BuildKit learnt `rewrite-timestamp` in v0.13, which Docker Engine 26 ships.
LEAST_BUILDKIT = (0, 13)
LEAST_ENGINE = (26, 0)
_EPOCH = r"^[0-9]{1,12}$"


def reproducible_spec(
    spec: BuildSpec, runner: Runner, environ: Mapping[str, str], *, exporting: bool = False
) -> BuildSpec:
    """``spec`` with its ``source_date_epoch`` when it asks to be reproducible; refused when the
    builder cannot rewrite timestamps where this build writes (``exporting``: tarballs only)."""
    if not spec.reproducible or spec.source_date_epoch is not None:
        return spec
    epoch = _epoch(spec, environ)
    if not runner.dry_run:
        _check_builder(runner, spec.builder, into_engine=not exporting)
    log.get().info("reproducible build", source_date_epoch=epoch)
    return replace(spec, source_date_epoch=epoch)


def _epoch(spec: BuildSpec, environ: Mapping[str, str]) -> str:
    given = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if given:
        if not re.match(_EPOCH, given):
            raise ConfigError(f"SOURCE_DATE_EPOCH={given!r} is not a number of seconds")
        return given
    from_git = commit_epoch(source_directory(spec.context))
    if from_git is None:
        raise ConfigError(
            "--reproducible needs SOURCE_DATE_EPOCH or a git checkout to take the commit's time from"
        )
    return from_git


def _check_builder(runner: Runner, builder: str, *, into_engine: bool) -> None:
    # Only a reproducible build asks: the rest do not load buildx's models for it.
    from buildxpy.builders.facts import ls_entries

    entry = ls_entries(runner).get(builder)
    if entry is None:
        return  # the build says that the builder is missing, in its own words
    if entry.driver == "docker" and into_engine:
        # The engine's image store unpacks what it stores ("rewrite-timestamp conflicts with
        # unpack"), and buildx pushes through that store: only tarballs can be rewritten.
        raise BuildxpyError(_cannot(builder, "the docker driver, whose image store"))
    versions = [_version(node.version) for node in entry.nodes if node.version]
    known = [v for v in versions if v is not None and v > (0, 0)]
    if known and min(known) < LEAST_BUILDKIT:
        raise BuildxpyError(_cannot(builder, f"BuildKit v{'.'.join(map(str, min(known)))}, which"))
    if entry.driver == "docker" and not known:
        engine = runner.run("version", "--format", "{{.Server.Version}}", check=False).stdout
        version = _version(engine.strip())
        if version is not None and version < LEAST_ENGINE:
            raise BuildxpyError(_cannot(builder, f"Docker Engine {engine.strip()}, which"))


def _cannot(builder: str, what: str) -> str:
    return (
        f"--reproducible: builder {builder!r} runs {what} cannot rewrite timestamps; use a "
        "docker-container builder (buildxpy builder setup; BuildKit v0.13 or newer)"
    )


def _version(text: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2])) if match else None
