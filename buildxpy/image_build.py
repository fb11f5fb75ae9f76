"""`buildxpy build`: exactly one `docker buildx build`, its digest read from the metadata file."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from buildxpy import buildx, log
from buildxpy.errors import BuildxpyError, CommandFailed, ConfigError
from buildxpy.runner import Runner
from buildxpy.settings import Settings

# Kept in the output directory after each successful build, next to what `export` writes, so CI
# steps and people can read the digest and buildx's other facts after the run.
METADATA_NAME = "build-metadata.json"
DIGEST_KEY = "containerimage.digest"


class BuildResult(BaseModel):
    digest: str | None
    tags: list[str]
    platforms: list[str]
    pushed: bool
    builder: str
    metadata_file: str | None


def metadata_path(settings: Settings) -> Path:
    return settings.output_dir / METADATA_NAME


def build_options(settings: Settings) -> list[str]:
    """What shapes the image, the same for `build` and for each platform of `export`."""
    argv: list[str] = []
    if settings.dockerfile:
        argv += ["-f", settings.dockerfile]
    if settings.target:
        argv += ["--target", settings.target]
    for key, value in settings.build_args.items():
        # A bare KEY makes buildx take the value from its own environment.
        argv += ["--build-arg", key if value is None else f"{key}={value}"]
    for key, value in settings.labels.items():
        argv += ["--label", f"{key}={value}"]
    for spec in settings.secrets:
        argv += ["--secret", spec]
    for spec in settings.cache_from:
        argv += ["--cache-from", spec]
    for spec in settings.cache_to:
        argv += ["--cache-to", spec]
    if settings.no_cache:
        argv.append("--no-cache")
    if settings.pull:
        argv.append("--pull")
    # `=` keeps values such as `false` attached: buildx parses these two flags leniently.
    if settings.provenance is not None:
        argv.append(f"--provenance={settings.provenance}")
    if settings.sbom is not None:
        argv.append(f"--sbom={settings.sbom}")
    if settings.network:
        argv += ["--network", settings.network]
    return argv


def build_argv(
    settings: Settings, *, metadata_file: Path | str, load: bool | None = None
) -> list[str]:
    """The `docker buildx build` arguments (without `docker`) for these settings."""
    argv = [
        "buildx", "build",
        "--builder", settings.builder.name,
        "--platform", ",".join(str(p) for p in settings.platforms),
    ]  # fmt: skip
    for ref in settings.refs:
        argv += ["-t", ref]
    argv += build_options(settings)
    if settings.progress:
        argv += ["--progress", settings.progress]
    argv += ["--metadata-file", str(metadata_file)]
    if settings.push:
        argv.append("--push")
    if settings.load if load is None else load:
        argv.append("--load")
    argv.append(settings.context)
    return argv


def build(settings: Settings, runner: Runner | None = None) -> BuildResult:
    """Build (and by default push) the configured image with one `docker buildx build`."""
    runner = runner or Runner()
    final = metadata_path(settings)
    result = BuildResult(
        digest=None,
        tags=settings.refs,
        platforms=[str(p) for p in settings.platforms],
        pushed=False,
        builder=settings.builder.name,
        metadata_file=None,
    )
    check_inputs(settings)
    if runner.dry_run:
        # What someone would type by hand: the kept metadata path, not a per-run scratch name.
        runner.stream(*build_argv(settings, metadata_file=final))
        return result
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildxpyError(f"cannot create the output directory {final.parent}: {exc}") from None
    with _scratch_file(final) as scratch:
        _run_build(runner, settings, scratch)
        metadata = read_metadata(scratch)
        scratch.replace(final)
    digest = digest_of(metadata)
    if digest is None:
        log.get().warning(
            "the build produced no image digest; its result stays in the build cache",
            builder=settings.builder.name,
        )
    else:
        log.get().info("built", digest=digest, tags=result.tags, pushed=settings.push)
    return result.model_copy(
        update={"digest": digest, "pushed": settings.push, "metadata_file": str(final)}
    )


def check_inputs(settings: Settings) -> None:
    """Catch a mistyped local context or Dockerfile before docker is asked."""
    context = settings.context
    if context == "-" or "://" in context or context.startswith("git@"):
        return
    if not Path(context).is_dir():
        raise ConfigError(f"build context {context!r} is not a directory")
    dockerfile = settings.dockerfile
    if dockerfile and dockerfile != "-" and not Path(dockerfile).is_file():
        raise ConfigError(f"Dockerfile {dockerfile!r} does not exist")


def _run_build(runner: Runner, settings: Settings, metadata_file: Path) -> None:
    try:
        runner.stream(*build_argv(settings, metadata_file=metadata_file))
    except CommandFailed as exc:
        raise buildx.explain_failure(runner, settings.builder.name, exc) from None


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


def read_metadata(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, json.JSONDecodeError) as exc:
        raise BuildxpyError(f"cannot read the build metadata file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise BuildxpyError(f"unexpected build metadata in {path}: not a JSON object")
    return data


def digest_of(metadata: dict[str, Any]) -> str | None:
    digest = metadata.get(DIGEST_KEY)
    if isinstance(digest, str) and digest.startswith("sha256:"):
        return digest
    return None
