"""``rebuild-check``: read the pushed image, check out its commit, build it again with its own
timestamps on the given fresh builder, and compare each platform."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from buildxpy import log
from buildxpy.builds.argv import oci_archive_argv
from buildxpy.builds.bases import prepare_bases
from buildxpy.builds.spec import BuildSpec, check_inputs
from buildxpy.ci.git_facts import commit_epoch
from buildxpy.docker.runner import Runner
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
    images = read_pushed(runner, ref, spec.builder, platforms)
    first = images[0]
    with source_of(revision(first), Path(spec.context)) as source:
        epoch = _epoch(first, source, environ)
        rebuild = prepare_bases(_rebuild_spec(spec, images, source, epoch), runner)
        workdir = Path(tempfile.mkdtemp(prefix="buildxpy-rebuild-"))
        try:
            archive = workdir / "rebuilt.tar"
            log.get().info("rebuilding", ref=ref, revision=source.revision,
                           source_date_epoch=epoch, builder=spec.builder)  # fmt: skip
            runner.stream(*oci_archive_argv(rebuild, archive, output_options(first)))
            if runner.dry_run:
                return RebuildCheck(ref, source.revision, epoch, ())
            with OciArchive(archive) as rebuilt:
                checks = tuple(compare(runner, i, rebuilt, spec.builder, workdir) for i in images)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return RebuildCheck(ref, source.revision, epoch, checks)


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
    """The build's inputs, in the commit's tree, with what the pushed image carries and no
    source can say: its OCI labels and its manifests' annotations. No cache, no attestation
    (they are not part of an image's manifest), nothing pushed or loaded."""
    dockerfile = spec.dockerfile
    if dockerfile and dockerfile != "-":
        dockerfile = str(source.path(Path(dockerfile)))
    labels = {k: v for k, v in images[0].labels.items() if k.startswith(OCI_LABELS)}
    return replace(
        spec,
        context=str(source.path(Path(spec.context))),
        dockerfile=dockerfile,
        lock_file=None if spec.lock_file is None else source.path(spec.lock_file),
        platforms=tuple(parse(image.platform) for image in images),
        tags=(), push=False, load=False, verify=False, call=None,
        no_cache=True, cache_from=(), cache_to=(), cache="off", default_cache=None,
        provenance="false", sbom=None, attests=(),
        labels={**spec.labels, **labels},
        annotations=_annotations(images),
        tags_from=None, oci_metadata=False, reproducible=False, source_date_epoch=epoch,
    )  # fmt: skip


def _annotations(images: Sequence[PushedImage]) -> tuple[str, ...]:
    """The pushed manifests' annotations, each platform's own; BuildKit applies a platform's
    (``manifest[PLATFORM]:``) only in a multi-platform build, so one platform takes them plain."""
    if len(images) == 1:
        return tuple(f"manifest:{key}={value}" for key, value in images[0].annotations.items())
    return tuple(
        f"manifest[{image.platform}]:{key}={value}"
        for image in images
        for key, value in image.annotations.items()
    )
