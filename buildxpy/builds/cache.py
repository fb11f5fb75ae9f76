"""The build cache buildxpy uses when none is given: a registry cache next to the image
(``IMAGE:buildcache``), GitHub Actions' cache service when a job has it, or a local directory.

A build for one platform gets a cache of its own (``IMAGE:buildcache-linux-arm64``): builds of
different platforms running side by side (``export``, a CI matrix) would otherwise overwrite each
other's cache. Writing the cache never fails a build (``ignore-error=true``), and reading one that
does not exist yet is only a warning from buildx, so the first run works as every later one.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from buildxpy import log, redact
from buildxpy.ci.git_tags import sanitize_tag
from buildxpy.docker import models as docker_json
from buildxpy.docker.models import load_json
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError
from buildxpy.platforms.names import Platform

CacheKind = Literal["registry", "gha", "local"]
CACHE_TAG = "buildcache"
CONTAINERD_STORE = "io.containerd.snapshotter.v1"
# Drivers whose BuildKit always exports cache.
EXPORTING_DRIVERS = frozenset({"docker-container", "remote", "kubernetes"})


@dataclass(frozen=True, slots=True)
class DefaultCache:
    kind: CacheKind
    # The image repository, the GitHub Actions cache scope, or the directory.
    target: str
    # Off for a registry cache while pushing is off: such builds read the cache, never write it.
    write: bool = True


def github_cache_available(environ: Mapping[str, str]) -> bool:
    """A token and a cache service URL: what buildx needs to reach GitHub Actions' cache. A `run:`
    step sees them only when a step before it exported them (e.g. crazy-max/ghaction-github-runtime)."""
    return bool(
        environ.get("ACTIONS_RUNTIME_TOKEN")
        and (environ.get("ACTIONS_CACHE_URL") or environ.get("ACTIONS_RESULTS_URL"))
    )


def choose(
    mode: str,
    *,
    image: str | None,
    push: bool,
    environ: Mapping[str, str],
    exporting: bool = False,
) -> DefaultCache | None:
    """The cache a build gets for ``mode`` (auto, registry, gha, local:DIR, off). ``exporting``:
    ``export`` pushes no image, so by itself it writes a registry cache only to a registry the image
    names (``registry.example/app``), never to Docker Hub for a short name such as ``app``."""
    if mode == "off":
        return None
    if mode.startswith("local:"):
        return DefaultCache("local", str(Path(mode.removeprefix("local:")).absolute()))
    gha = github_cache_available(environ)
    if mode == "gha" or (mode == "auto" and gha):
        if not gha:
            log.get().warning(
                "cache = gha, but this step cannot reach GitHub Actions' cache service "
                "(ACTIONS_RUNTIME_TOKEN and ACTIONS_CACHE_URL or ACTIONS_RESULTS_URL are not set; "
                "a `run:` step gets them from crazy-max/ghaction-github-runtime): building "
                "without a cache"
            )
            return None
        redact.add_secret(environ.get("ACTIONS_RUNTIME_TOKEN"))
        return DefaultCache("gha", sanitize_tag(image or "buildxpy"))
    if image is None:
        return None
    if mode == "registry":
        return DefaultCache("registry", image, write=push)
    # auto: a registry cache only where the image goes, so a local build touches no registry.
    if not push or (exporting and not names_registry(image)):
        return None
    return DefaultCache("registry", image)


def names_registry(image: str) -> bool:
    """Whether the repository's first part is a registry host, as docker reads a reference."""
    first, slash, _ = image.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


def cache_flags(cache: DefaultCache | None, platforms: Sequence[Platform]) -> list[str]:
    """``--cache-from``/``--cache-to`` for a build of ``platforms``."""
    if cache is None:
        return []
    one = platforms[0].slug if len(platforms) == 1 else None
    if cache.kind == "registry":
        ref = f"{cache.target}:{CACHE_TAG}" + (f"-{one}" if one else "")
        source, sink = f"type=registry,ref={ref}", f"type=registry,ref={ref},mode=max"
    elif cache.kind == "gha":
        scope = cache.target + (f"-{one}" if one else "")
        source, sink = f"type=gha,scope={scope}", f"type=gha,scope={scope},mode=max"
    else:
        directory = str(Path(cache.target, one)) if one else cache.target
        source = "type=local," + _csv_field(f"src={directory}")
        sink = "type=local," + _csv_field(f"dest={directory}") + ",mode=max"
    argv = ["--cache-from", source]
    if cache.write:
        argv += ["--cache-to", f"{sink},ignore-error=true"]
    return argv


def can_export_cache(runner: Runner, builder: str, config_dir: Path) -> bool | None:
    """Whether ``builder`` can export build cache; ``None`` when that cannot be told (no such
    builder: the build reports that itself).

    Builders buildx created (docker-container, remote, kubernetes) always can and are known from
    buildx's store without a process. A ``docker`` driver builder is a docker context: it can only
    with the engine's containerd image store, which ``docker info`` reports."""
    instance = config_dir / "buildx" / "instances" / builder
    if instance.is_file():
        try:
            stored = load_json(
                docker_json.LsBuilder, instance.read_text(), what="buildx's stored builder"
            )
        except (OSError, BuildxpyError):
            return None
        return stored.driver in EXPORTING_DRIVERS
    if not is_docker_context(builder, config_dir):
        return None
    probe = runner.run("--context", builder, "info", "--format", "{{json .}}", check=False)
    if probe.exit_code != 0:
        return None
    try:
        info = load_json(docker_json.DockerInfo, probe.stdout, what="docker info")
    except BuildxpyError:
        return None
    return any(pair[-1:] == [CONTAINERD_STORE] for pair in info.driver_status)


def is_docker_context(name: str, config_dir: Path) -> bool:
    """``default``, or a context in the docker CLI's store (``contexts/meta/SHA256(NAME)``)."""
    if name == "default":
        return True
    digest = hashlib.sha256(name.encode()).hexdigest()
    return (config_dir / "contexts" / "meta" / digest / "meta.json").is_file()


def _csv_field(value: str) -> str:
    """buildx reads each cache option as one CSV record: a path with a comma needs quoting."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([value])
    return out.getvalue()
