"""What buildxpy adds to a build on its own, just before running it: tags and OCI metadata from
git and the project, and a cache. ``build`` and ``export`` both go through ``complete``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

from buildxpy import log
from buildxpy.builders.state import docker_config_dir
from buildxpy.builds.cache import DefaultCache, can_export_cache, choose
from buildxpy.builds.reproducible import reproducible_spec
from buildxpy.builds.spec import BuildSpec
from buildxpy.ci.git_queries import source_directory
from buildxpy.ci.metadata import compute, facts_for, project_license
from buildxpy.docker.runner import Runner


def complete(
    spec: BuildSpec,
    runner: Runner,
    *,
    exporting: bool = False,
    environ: Mapping[str, str] | None = None,
) -> BuildSpec:
    """``spec`` with its computed tags, labels, annotations and default cache. ``exporting``: the
    per-platform tarballs of ``export``, which hold Docker manifests (no annotations) and take one
    cache per platform."""
    environ = os.environ if environ is None else environ
    spec = reproducible_spec(spec, runner, environ, exporting=exporting)
    if spec.tags_from is None and not spec.oci_metadata and spec.cache == "off":
        return spec
    image = spec.require_image()
    directory = source_directory(spec.context)
    wants_tags = spec.tags_from == "git"
    facts = (
        facts_for(directory, environ, required=wants_tags)
        if wants_tags or spec.oci_metadata
        else None
    )
    licenses = spec.licenses or (project_license(directory) if spec.oci_metadata else None)
    # Tags from git replace the default `latest`; tags the user gave are kept next to them.
    static = spec.tags if spec.tags_given or not wants_tags else ()
    metadata = compute(
        image=image,
        static_tags=static,
        facts=facts,
        rules=spec.tag_rules if wants_tags else None,
        oci=spec.oci_metadata,
        licenses=licenses,
        labels=spec.labels,
        annotations=spec.annotations,
        index=spec.push and len(spec.platforms) > 1 and not exporting,
    )
    if wants_tags:
        log.get().info("tags from git", tags=list(metadata.tags), version=metadata.version)
    annotations = spec.annotations if exporting else metadata.annotations
    completed = replace(spec, tags=metadata.tags, labels=metadata.labels, annotations=annotations)
    cache = _cache(completed, runner, environ, exporting=exporting)
    return replace(completed, default_cache=cache)


def _cache(
    spec: BuildSpec, runner: Runner, environ: Mapping[str, str], *, exporting: bool
) -> DefaultCache | None:
    if spec.cache_from or spec.cache_to or spec.call not in (None, "build"):
        return None
    cache = choose(
        spec.cache, image=spec.image, push=spec.push, environ=environ, exporting=exporting
    )
    if cache is None or not cache.write:
        return cache
    able = can_export_cache(runner, spec.builder, docker_config_dir(runner))
    if able is False:
        log.get().info(
            "this builder cannot export build cache (the docker driver without the containerd "
            "image store): building without the default cache",
            builder=spec.builder,
        )
        return None
    return cache if able else None
