"""`buildxpy build`: exactly one `docker buildx build`, its digest read from the metadata file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from buildxpy import log
from buildxpy.build_argv import build_argv
from buildxpy.build_secrets import resolve_secrets
from buildxpy.build_spec import BuildSpec, check_inputs
from buildxpy.builder_facts import explain_failure
from buildxpy.docker_json import BuildMetadata, load_json
from buildxpy.errors import BuildxpyError, CommandFailed
from buildxpy.file_install import check_target, install
from buildxpy.runner import Runner

# Kept in the output directory after each successful build, next to what `export` writes, so CI
# steps and people can read the digest and buildx's other facts after the run.
METADATA_NAME = "build-metadata.json"
METADATA_WHAT = "cannot write the build metadata to"


class BuildResult(BaseModel):
    digest: str | None
    tags: list[str]
    platforms: list[str]
    pushed: bool
    builder: str
    metadata_file: str | None


def metadata_path(spec: BuildSpec) -> Path:
    return spec.output_dir / METADATA_NAME


def build_image(spec: BuildSpec, runner: Runner | None = None) -> BuildResult:
    """Build (and when ``spec.push``, push) the image with one `docker buildx build`."""
    runner = runner or Runner()
    final = metadata_path(spec)
    result = BuildResult(
        digest=None,
        tags=list(spec.tags),
        platforms=[str(p) for p in spec.platforms],
        pushed=False,
        builder=spec.builder,
        metadata_file=None,
    )
    check_inputs(spec)
    resolve_secrets(spec.secrets)
    check_target(final, METADATA_WHAT)
    if runner.dry_run:
        # What someone would type by hand: the kept metadata path, not a per-run scratch name.
        runner.stream(*build_argv(spec, metadata_file=final))
        return result
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildxpyError(f"cannot create the output directory {final.parent}: {exc}") from None
    with _scratch_file(final) as scratch:
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
        log.get().info("built", digest=digest, tags=result.tags, pushed=spec.push)
    return result.model_copy(
        update={"digest": digest, "pushed": spec.push, "metadata_file": str(final)}
    )


def _run_build(runner: Runner, spec: BuildSpec, metadata_file: Path) -> None:
    try:
        runner.stream(*build_argv(spec, metadata_file=metadata_file))
    except CommandFailed as exc:
        raise explain_failure(runner, spec.builder, exc) from None


@contextlib.contextmanager
def _scratch_file(final: Path) -> Iterator[Path]:
    """A private path beside ``final``: concurrent builds never read each other's metadata, and a
    failed or interrupted build leaves the previous ``final`` as it was."""
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}-", suffix=final.suffix, dir=final.parent)
    os.close(fd)
    scratch = Path(name)
    try:
        yield scratch
    finally:
        scratch.unlink(missing_ok=True)


def read_metadata(path: Path) -> BuildMetadata:
    try:
        text = path.read_text() or "{}"
    except OSError as exc:
        raise BuildxpyError(f"cannot read the build metadata file {path}: {exc}") from None
    return load_json(BuildMetadata, text, what=f"cannot read the build metadata file {path}")
