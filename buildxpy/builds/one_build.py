"""`buildxpy build`: exactly one `docker buildx build`, its digest read from the metadata file."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from buildxpy import log, redact
from buildxpy.builders.missing import explain_failure
from buildxpy.builds.argv import build_argv
from buildxpy.builds.buildx_inputs import DECLARED, declared
from buildxpy.builds.defaults import complete
from buildxpy.builds.inputs import check_present
from buildxpy.builds.secrets import resolve_secrets
from buildxpy.builds.spec import BuildSpec, check_inputs
from buildxpy.docker import models as docker_json
from buildxpy.docker.buildx_features import buildx_version, refused_flag, require, version_text
from buildxpy.docker.input_text import check_command
from buildxpy.docker.models import load_json
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError, CommandFailed, ConfigError
from buildxpy.file_install import check_target, install, scratch_beside
from buildxpy.result_model import ResultModel

if TYPE_CHECKING:
    from buildxpy.docker.models import BuildMetadata
    from buildxpy.verification.report import VerifyReport

# Kept in the output directory after each successful build, next to what `export` writes, so CI
# steps and people can read the digest and buildx's other facts after the run.
METADATA_NAME = "build-metadata.json"
METADATA_WHAT = "cannot write the build metadata to"


class BuildResult(ResultModel):
    # A plain build never serializes its result unless --json asks: the verification's models
    # load with the schema (ResultModel._late_types).
    _late_types: ClassVar[Mapping[str, str]] = {"VerifyReport": "buildxpy.verification.report"}

    digest: str | None
    tags: list[str]
    platforms: list[str]
    pushed: bool
    builder: str
    metadata_file: str | None
    # What `buildxpy verify` found in the pushed image; None when it was not pushed or checked.
    verification: VerifyReport | None = None
    # What `--call outline|targets|check` printed: the result of a build that makes no image.
    call_output: str | None = None


def metadata_path(spec: BuildSpec) -> Path:
    return spec.output_dir / METADATA_NAME


def check_build_inputs(spec: BuildSpec) -> None:
    """Every local check that can refuse a build, before any docker process (the routing plan's
    questions included): the context, the Dockerfile, the secrets, the metadata file's place, and
    whether the command line fits the system's limits."""
    check_inputs(spec)
    check_present(spec.inputs.get("ssh", ()), spec.build_contexts)
    resolve_secrets(spec.secrets)
    check_target(metadata_path(spec), METADATA_WHAT)
    check_command(["docker", *build_argv(spec, metadata_file=metadata_path(spec))], {}, None)


def build_image(
    spec: BuildSpec, runner: Runner | None = None, *, completed: bool = False
) -> BuildResult:
    """Build (and when ``spec.push``, push) the image with one `docker buildx build`.
    ``completed``: the caller already added the computed tags, labels and cache (``complete``)."""
    runner = runner or Runner()
    check_build_inputs(spec)
    if not completed:
        spec = complete(spec, runner)
    # The computed tags, labels and cache flags lengthen the command: checked again.
    check_command(["docker", *build_argv(spec, metadata_file=metadata_path(spec))], {}, None)
    final = metadata_path(spec)
    if spec.call not in (None, "build"):
        return _call(spec, runner, _result(spec))
    if runner.dry_run:
        # What someone would type by hand: the kept metadata path, not a per-run scratch name.
        runner.stream(*build_argv(spec, metadata_file=final))
        return _result(spec)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildxpyError(f"cannot create the output directory {final.parent}: {exc}") from None
    runner.while_running(prepare_models)
    with scratch_beside(final) as scratch:
        _run_build(runner, spec, scratch)
        metadata = read_metadata(scratch)
        install([(scratch, final)], METADATA_WHAT)
    digest = metadata.digest
    if digest is None:
        log.get().warning(
            "the build produced no image digest; its result stays in the build cache",
            builder=spec.builder,
        )
    else:
        log.get().info("built", digest=digest, tags=list(spec.tags), pushed=spec.push)
    return verify_built(runner, spec, _result(spec, digest=digest, pushed=spec.push,
                                              metadata_file=str(final)))  # fmt: skip


def _result(
    spec: BuildSpec,
    *,
    digest: str | None = None,
    pushed: bool = False,
    metadata_file: str | None = None,
) -> BuildResult:
    return BuildResult.model_construct(
        digest=digest,
        tags=list(spec.tags),
        platforms=[str(p) for p in spec.platforms],
        pushed=pushed,
        builder=spec.builder,
        metadata_file=metadata_file,
    )


def prepare_models() -> None:
    """The metadata file's schema, made while docker builds (``Runner.while_running``) rather
    than after it."""
    docker_json.BuildMetadata.model_rebuild()


def verify_built(runner: Runner, spec: BuildSpec, result: BuildResult) -> BuildResult:
    """Check the image the build pushed, by digest: exactly what this build made (when it pushed
    one and ``spec.verify``)."""
    digest = result.digest
    if not (spec.push and spec.verify and result.pushed) or digest is None:
        return result
    from buildxpy.manifests.lists import VerifyOptions, check_pushed
    from buildxpy.manifests.registry import parse_reference

    pushed = str(parse_reference(spec.tags[0]).at(digest))
    options = VerifyOptions([str(p) for p in spec.platforms], spec.builder)
    return result.model_copy(
        update={"verification": check_pushed(runner, pushed, options, "pushed")}
    )


def _run_build(runner: Runner, spec: BuildSpec, metadata_file: Path) -> None:
    try:
        runner.stream(*build_argv(spec, metadata_file=metadata_file))
    except CommandFailed as exc:
        if spec.annotations and refused(runner, exc, "annotations"):
            log.get().info(
                "this buildx has no --annotation (it came in buildx 0.12): building without "
                "annotations; the labels still carry the OCI metadata"
            )
            _run_build(runner, replace(spec, annotations=()), metadata_file)
            return
        raise _too_new(runner, exc) or explain_failure(runner, spec.builder, exc) from None


def refused(runner: Runner, exc: CommandFailed, name: str) -> bool:
    """Whether buildx failed for not knowing the declared input ``name``."""
    item = declared(name)
    return refused_flag(runner, exc, item.input.flag, item.since)


def _too_new(runner: Runner, exc: CommandFailed) -> ConfigError | None:
    """A declared input buildx said it does not know, named with the buildx that brought it."""
    for item in DECLARED:
        flag = item.input.flag
        if item.since and any(f"unknown flag: {flag}" in line for line in exc.stderr_tail):
            have = version_text(buildx_version(runner))
            return ConfigError(
                f"{flag} needs buildx {item.input.since} or later; this buildx is {have}"
            )
    return None


def _call(spec: BuildSpec, runner: Runner, result: BuildResult) -> BuildResult:
    """``--call METHOD``: buildx evaluates the build (checks, outline, targets) and prints the
    answer on its stdout; nothing is built, pushed or loaded."""
    require(runner, f"--call {spec.call}", declared("call").since)
    quiet = replace(spec, push=False, load=False)
    done = runner.run(*build_argv(quiet, metadata_file=None), mutating=True, check=False)
    if done.dry_run:
        return result
    if done.stderr:
        print(redact.text(done.stderr), end="", file=sys.stderr)
    if done.exit_code != 0:
        what = "the build checks found problems" if spec.call == "check" else "it failed"
        raise BuildxpyError(
            f"`docker buildx build --call={spec.call}` exited with {done.exit_code}: {what}",
            details=[line for line in redact.text(done.stdout).splitlines() if line.strip()][-20:],
        )
    return result.model_copy(update={"call_output": redact.text(done.stdout)})


def read_metadata(path: Path) -> BuildMetadata:
    try:
        text = path.read_text() or "{}"
    except OSError as exc:
        raise BuildxpyError(f"cannot read the build metadata file {path}: {exc}") from None
    return load_json(
        docker_json.BuildMetadata, text, what=f"cannot read the build metadata file {path}"
    )
