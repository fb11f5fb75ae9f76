"""``docker buildx build`` argument lists (without ``docker``) for a ``BuildSpec``: one multi-platform
build, or one platform's ``type=docker`` tarball. Pure: no process, no file."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from buildxpy.builds.buildx_inputs import DECLARED
from buildxpy.builds.cache import cache_flags
from buildxpy.builds.spec import BuildSpec
from buildxpy.platforms.names import Platform

REWRITE = ",rewrite-timestamp=true"


def image_options(spec: BuildSpec, platforms: Sequence[Platform] | None = None) -> list[str]:
    """What shapes the image: the same for a build and for each platform of an export
    (``platforms``: the ones this build makes, which pick the default cache's name)."""
    argv: list[str] = []
    if spec.dockerfile:
        argv += ["-f", spec.dockerfile]
    if spec.target:
        argv += ["--target", spec.target]
    for key, value in spec.build_args.items():
        argv += ["--build-arg", key if value is None else f"{key}={value}"]
    if spec.source_date_epoch is not None and "SOURCE_DATE_EPOCH" not in spec.build_args:
        argv += ["--build-arg", f"SOURCE_DATE_EPOCH={spec.source_date_epoch}"]
    for key, value in spec.labels.items():
        argv += ["--label", f"{key}={value}"]
    for flag, values in (
        ("--secret", spec.secrets),
        ("--cache-from", spec.cache_from),
        ("--cache-to", spec.cache_to),
    ):
        for value in values:
            argv += [flag, value]
    argv += declared_options(spec)
    argv += cache_flags(spec.default_cache, spec.platforms if platforms is None else platforms)
    return argv


def declared_options(spec: BuildSpec) -> list[str]:
    """The declared build inputs (``buildx_inputs``), in their order: from the BuildSpec field of
    the same name where there is one, else from ``spec.inputs``."""
    given: Mapping[str, object] = spec.inputs
    argv: list[str] = []
    for item in DECLARED:
        argv += item.argv(
            getattr(spec, item.name) if item.input.own_field else given.get(item.name)
        )
    return argv


def build_argv(
    spec: BuildSpec, *, metadata_file: Path | str | None, load: bool | None = None
) -> list[str]:
    """One build for every platform of ``spec``, pushed and/or loaded as it says."""
    argv = _head(spec, ",".join(str(p) for p in spec.platforms))
    argv += _tag_flags(spec.tags)
    argv += image_options(spec)
    if spec.progress:
        argv += ["--progress", spec.progress]
    if metadata_file is not None:
        argv += ["--metadata-file", str(metadata_file)]
    argv += _outputs(spec, push=spec.push, load=spec.load if load is None else load)
    argv.append(spec.context)
    return argv


def _outputs(spec: BuildSpec, *, push: bool, load: bool) -> list[str]:
    # `--push` and `--load` are short for these outputs, which take no exporter options.
    if spec.source_date_epoch is None:
        return [*(["--push"] if push else []), *(["--load"] if load else [])]
    argv: list[str] = []
    if push:
        argv += ["--output", "type=image,push=true" + REWRITE]
    if load:
        argv += ["--output", "type=docker" + REWRITE]
    return argv


def rewrite_timestamps(spec: BuildSpec) -> str:
    """What an ``--output`` gets so that a reproducible build's files carry its epoch."""
    return REWRITE if spec.source_date_epoch is not None else ""


def export_argv(
    spec: BuildSpec,
    platform: Platform,
    tags: Sequence[str],
    dest: Path,
    *,
    progress: str | None = None,
) -> list[str]:
    """One platform's image written as a ``type=docker`` tarball to ``dest``."""
    argv = _head(spec, str(platform))
    argv += ["--output", "type=docker," + _csv_field(f"dest={dest}") + rewrite_timestamps(spec)]
    argv += _tag_flags(tags)
    argv += image_options(spec, [platform])
    progress = spec.progress or progress
    if progress:
        argv += ["--progress", progress]
    argv.append(spec.context)
    return argv


def oci_archive_argv(spec: BuildSpec, dest: Path, options: str) -> list[str]:
    """Every platform of ``spec`` written as one OCI archive at ``dest``, its timestamps rewritten
    (``options``: the exporter's media types and compression)."""
    argv = _head(spec, ",".join(str(p) for p in spec.platforms))
    argv += ["--output", "type=oci," + _csv_field(f"dest={dest}") + f",{options}" + REWRITE]
    argv += image_options(spec)
    if spec.progress:
        argv += ["--progress", spec.progress]
    argv.append(spec.context)
    return argv


def _head(spec: BuildSpec, platforms: str) -> list[str]:
    return ["buildx", "build", "--builder", spec.builder, "--platform", platforms]


def _tag_flags(tags: Sequence[str]) -> list[str]:
    return [arg for tag in tags for arg in ("-t", tag)]


def _csv_field(value: str) -> str:
    """buildx reads ``--output`` as one CSV record: a path with a comma or quote needs quoting."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([value])
    return out.getvalue()


def by_digest_argv(
    spec: BuildSpec, platform: Platform, output: str, *, metadata_file: Path | str
) -> list[str]:
    """One platform's image pushed as ``output`` says (by digest, no tag), its digest in the
    metadata file."""
    argv = _head(spec, str(platform))
    argv += ["--output", output + rewrite_timestamps(spec)]
    argv += image_options(spec, [platform])
    if spec.progress:
        argv += ["--progress", spec.progress]
    argv += ["--metadata-file", str(metadata_file)]
    argv.append(spec.context)
    return argv
