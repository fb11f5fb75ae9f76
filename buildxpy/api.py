"""Keyword functions for Python callers: what you pass is all that counts.

Unlike the command line, these read neither ``BUILDXPY_*`` variables, ``DO_NOT_PUSH`` nor a config
file; ``Settings.from_sources()`` gives those to whoever wants them. Values are validated exactly as
the configuration is, and bad ones raise ``ConfigError`` before any docker call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, Unpack

from buildxpy.build_spec import BuildSpec, spec_from_settings
from buildxpy.builders import Builder, ensure_builder
from buildxpy.buildkitd_config import BuildkitdTable
from buildxpy.git_meta import TagRules
from buildxpy.image_build import BuildResult, build_image
from buildxpy.image_export import ExportResult, export_images
from buildxpy.platforms import Platform
from buildxpy.runner import Runner
from buildxpy.settings import NodeConfig, from_values, parse_node_flag

PlatformLike = Platform | str


class PipelineOptions(TypedDict, total=False):
    """``build`` and ``export`` keywords beyond buildx's basic ones (the settings of these names)."""

    tags_from: str | None
    tag_rules: TagRules | Mapping[str, Any]
    oci_metadata: bool
    licenses: str | None
    cache: str
    annotations: Sequence[str]
    ssh: Sequence[str]
    build_contexts: Mapping[str, str]
    attests: Sequence[str]
    call: str | None
    no_cache_filters: Sequence[str]
    add_hosts: Sequence[str]
    allow: Sequence[str]
    shm_size: str | None
    ulimits: Sequence[str]
    secret_envs: Mapping[str, str]


def build(
    context: str | Path = ".",
    *,
    image: str | None = None,
    tags: Sequence[str] | None = None,
    platforms: Sequence[PlatformLike] | None = None,
    builder: str = "buildxpy",
    file: str | Path | None = None,
    target: str | None = None,
    build_args: Mapping[str, str | None] | None = None,
    labels: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
    cache_from: Sequence[str] = (),
    cache_to: Sequence[str] = (),
    no_cache: bool = False,
    pull: bool = False,
    provenance: str | None = None,
    sbom: str | None = None,
    network: str | None = None,
    progress: str | None = None,
    push: bool = False,
    load: bool = False,
    output_dir: str | Path = "dist",
    runner: Runner | None = None,
    **pipeline: Unpack[PipelineOptions],
) -> BuildResult:
    """One ``docker buildx build`` for every platform; pushed only when ``push=True``.

    ``tags`` default to ``latest`` (none with ``tags_from="git"``). ``pipeline`` takes the keys of
    ``PipelineOptions``: tags and OCI metadata from git, the cache and the other build inputs, as
    the settings of the same names (the CI's variables, such as ``GITHUB_REF``, are read for git's
    facts and the GitHub Actions cache).

    >>> buildxpy.image_build(".", image="reg/app", platforms=["linux/amd64", "linux/arm64"], push=True)
    """
    spec = _spec(
        context, image=image, tags=tags, platforms=platforms, builder=builder, file=file,
        target=target, build_args=build_args, labels=labels, secrets=secrets,
        cache_from=cache_from, cache_to=cache_to, no_cache=no_cache, pull=pull,
        provenance=provenance, sbom=sbom, network=network, progress=progress, push=push,
        load=load, output_dir=output_dir, **pipeline,
    )  # fmt: skip
    return build_image(spec, runner)


def export(
    context: str | Path = ".",
    *,
    image: str,
    platforms: Sequence[PlatformLike] | None = None,
    tags: Sequence[str] | None = None,
    builder: str = "buildxpy",
    file: str | Path | None = None,
    target: str | None = None,
    build_args: Mapping[str, str | None] | None = None,
    labels: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
    cache_from: Sequence[str] = (),
    no_cache: bool = False,
    pull: bool = False,
    network: str | None = None,
    output_dir: str | Path = "dist",
    load: bool = False,
    runner: Runner | None = None,
    **pipeline: Unpack[PipelineOptions],
) -> list[ExportResult]:
    """One ``type=docker`` tarball per platform in ``output_dir``; ``load=True`` loads and checks
    each. ``pipeline`` as for ``build``."""
    spec = _spec(
        context, image=image, tags=tags, platforms=platforms, builder=builder, file=file,
        target=target, build_args=build_args, labels=labels, secrets=secrets,
        cache_from=cache_from, no_cache=no_cache, pull=pull, network=network,
        output_dir=output_dir, **pipeline,
    )  # fmt: skip
    return export_images(spec, runner=runner, load=load)


def setup_builder(
    name: str = "buildxpy",
    *,
    driver: str = "docker-container",
    platforms: Sequence[PlatformLike] | None = None,
    nodes: Sequence[NodeConfig | Mapping[str, Any] | str] = (),
    driver_opts: Mapping[str, str] | None = None,
    buildkitd_flags: str | None = None,
    buildkitd_config: str | Path | None = None,
    buildkitd: BuildkitdTable | Mapping[str, Any] | None = None,
    force: bool = False,
    bootstrap: bool = True,
    use: bool = False,
    timeout: float = 300.0,
    runner: Runner | None = None,
) -> Builder:
    """Make builder ``name`` exist exactly as described; a node is a ``NodeConfig``, a mapping of
    its fields, or ``"NAME=ENDPOINT;platforms=a,b"`` as ``--node`` takes it. ``buildkitd_config``
    is a buildkitd.toml; ``buildkitd`` the same as a table (``{"registry": {"reg:5000":
    {"http": True}}}``)."""
    node_values = [parse_node_flag(n) if isinstance(n, str) else n for n in nodes]
    settings = from_values(
        {
            "platforms": _platform_texts(platforms),
            "builder": {
                "name": name,
                "driver": driver,
                "nodes": [n.model_dump() if isinstance(n, NodeConfig) else n for n in node_values],
                "driver_opts": dict(driver_opts or {}),
                "buildkitd_flags": buildkitd_flags,
                "buildkitd_config": buildkitd_config,
                "buildkitd": buildkitd,
            },
        }
    )
    return ensure_builder(
        settings.builder, settings.builder_platforms, runner,
        force=force, bootstrap=bootstrap, use=use, timeout=timeout,
    )  # fmt: skip


def _spec(context: str | Path, **options: Any) -> BuildSpec:
    file = options.pop("file")
    platforms = options.pop("platforms")
    settings = from_values(
        {
            **options,
            "context": str(context),
            "dockerfile": None if file is None else str(file),
            "platforms": _platform_texts(platforms),
            "tags": None if options["tags"] is None else _listed(options["tags"]),
            "builder": {"name": options["builder"]},
            "build_args": dict(options.get("build_args") or {}),
            "labels": dict(options.get("labels") or {}),
            "output_dir": Path(options["output_dir"]),
        }
    )
    return spec_from_settings(settings)


def _platform_texts(platforms: Sequence[PlatformLike] | PlatformLike | None) -> list[str] | None:
    return None if platforms is None else [str(p) for p in _listed(platforms)]


def _listed(values: Sequence[Any] | Any) -> list[Any]:
    """A lone string is one item, not a sequence of characters."""
    return [values] if isinstance(values, str | Platform) else list(values)
