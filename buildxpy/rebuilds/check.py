"""``rebuild-check``: read the pushed image, check out its commit, build it again with its own
timestamps on the given fresh builder, and compare each platform."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from buildxpy import log
from buildxpy.builds.argv import oci_archive_argv
from buildxpy.builds.bases import prepare_bases
from buildxpy.builds.buildx_inputs import BuildxInputs
from buildxpy.builds.concurrent import boot_first, run_each
from buildxpy.builds.spec import BuildSpec, check_inputs
from buildxpy.ci.git_facts import commit_epoch
from buildxpy.docker.runner import Runner, output_prefix
from buildxpy.errors import ConfigError
from buildxpy.platforms.names import parse
from buildxpy.rebuilds.comparison import PlatformCheck, compare
from buildxpy.rebuilds.oci_archive import OciArchive
from buildxpy.rebuilds.pushed import (
    OCI_LABELS,
    PushedImage,
    created_epoch,
    output_options,
    read_pushed,
    revision,
)
from buildxpy.rebuilds.source import Source, source_of


@dataclass(frozen=True, slots=True)
class RebuildCheck:
    ref: str
    revision: str | None
    source_date_epoch: str
    platforms: tuple[PlatformCheck, ...]

    @property
    def same(self) -> bool:
        return all(check.same for check in self.platforms)


def rebuild_check(
    ref: str,
    spec: BuildSpec,
    runner: Runner,
    *,
    platforms: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> RebuildCheck:
    """Rebuild what ``ref`` was built from with ``spec``'s inputs on ``spec.builder`` (a fresh
    builder: no cache), and compare each platform (``platforms``: only these)."""
    environ = os.environ if environ is None else environ
    check_inputs(spec)
    # Under --dry-run the fresh builder was not made: the current builder reads REF.
    images = read_pushed(runner, ref, None if runner.dry_run else spec.builder, platforms)
    first = images[0]
    with source_of(revision(first), Path(spec.context)) as source:
        epoch = _epoch(first, source, environ)
        rebuild = prepare_bases(_rebuild_spec(spec, images, source, epoch), runner)
        workdir = Path(tempfile.mkdtemp(prefix="buildxpy-rebuild-"))
        try:
            log.get().info("rebuilding", ref=ref, revision=source.revision,
                           source_date_epoch=epoch, builder=spec.builder)  # fmt: skip
            archives = _rebuild(runner, rebuild, images, workdir)
            if runner.dry_run:
                return RebuildCheck(ref, source.revision, epoch, ())
            checks = tuple(
                _compare(runner, image, archives[image.platform], spec.builder, workdir)
                for image in images
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return RebuildCheck(ref, source.revision, epoch, checks)


def _rebuild(
    runner: Runner, spec: BuildSpec, images: Sequence[PushedImage], workdir: Path
) -> dict[str, Path]:
    """One OCI archive a platform, all built at once: buildx writes no multi-platform OCI archive
    from a multi-node builder, and one platform at a time goes to its own node."""
    archives = {image.platform: workdir / f"rebuilt-{n}.tar" for n, image in enumerate(images)}
    several = len(images) > 1

    def job(image: PushedImage) -> None:
        one = replace(spec, platforms=(parse(image.platform),), annotations=_annotations(image),
                      labels={**spec.labels, **_oci_labels(image)})  # fmt: skip
        with output_prefix(f"[{image.platform}] " if several else None):
            runner.stream(*oci_archive_argv(one, archives[image.platform], output_options(image)))

    boot_first(runner, spec.builder, len(images))
    outcomes = run_each(runner, {image.platform: functools.partial(job, image) for image in images})
    for platform, outcome in outcomes.items():
        if isinstance(outcome, BaseException):
            log.get().error("the rebuild failed", platform=platform)
            raise outcome
    return archives


def _compare(
    runner: Runner, image: PushedImage, archive: Path, builder: str, workdir: Path
) -> PlatformCheck:
    with OciArchive(archive) as rebuilt:
        return compare(runner, image, rebuilt, builder, workdir)


def _epoch(image: PushedImage, source: Source, environ: Mapping[str, str]) -> str:
    """The variable when set; else the pushed config's time, which a reproducible build sets to
    its epoch; else the commit's time."""
    given = environ.get("SOURCE_DATE_EPOCH", "").strip()
    epoch = given or created_epoch(image) or (commit_epoch(source.tree) if source.tree else None)
    if epoch is None:
        raise ConfigError("no SOURCE_DATE_EPOCH to rebuild with: set it to the pushed build's")
    return epoch


def _rebuild_spec(
    spec: BuildSpec, images: Sequence[PushedImage], source: Source, epoch: str
) -> BuildSpec:
    """The build's inputs, in the commit's tree, for every platform of ``images``. No cache, no
    attestation (they are not part of an image's manifest), nothing pushed or loaded."""
    dockerfile = spec.dockerfile
    if dockerfile and dockerfile != "-":
        dockerfile = str(source.path(Path(dockerfile)))
    inputs: BuildxInputs = {**spec.inputs, "no_cache": True, "provenance": "false"}
    inputs.pop("sbom", None)
    inputs.pop("attests", None)
    return replace(
        spec,
        context=str(source.path(Path(spec.context))),
        dockerfile=dockerfile,
        lock_file=None if spec.lock_file is None else source.path(spec.lock_file),
        platforms=tuple(parse(image.platform) for image in images),
        tags=(), push=False, load=False, verify=False, call=None,
        cache_from=(), cache_to=(), cache="off", default_cache=None, inputs=inputs,
        tags_from=None, oci_metadata=False, reproducible=False, source_date_epoch=epoch,
    )  # fmt: skip


def _oci_labels(image: PushedImage) -> dict[str, str]:
    """What the pushed image carries and no source can say (the version its tag gave it)."""
    return {key: value for key, value in image.labels.items() if key.startswith(OCI_LABELS)}


def _annotations(image: PushedImage) -> tuple[str, ...]:
    """The pushed manifest's annotations, for a build of its platform alone."""
    return tuple(f"manifest:{key}={value}" for key, value in image.annotations.items())
