"""Keyword functions for Python callers: what you pass is all that counts.

Unlike the command line, these read neither ``BUILDXPY_*`` variables, ``DO_NOT_PUSH`` nor a config
file; ``Settings.from_sources()`` gives those to whoever wants them. Values are validated exactly as
the configuration is, and bad ones raise ``ConfigError`` before any docker call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Unpack

from buildxpy.builders.buildkitd_config import BuildkitdTable
from buildxpy.builders.doctor import DoctorReport
from buildxpy.builders.doctor import doctor as check_machine
from buildxpy.builders.fresh import fresh_builder
from buildxpy.builders.manage import Builder, ensure_builder
from buildxpy.builders.routing import RoutingPlan
from buildxpy.builders.routing_facts import routing_plan as route_platforms
from buildxpy.builds.bases import base_refs
from buildxpy.builds.buildx_inputs import BuildxInputs
from buildxpy.builds.native import native_build
from buildxpy.builds.reporting import NativeOptions
from buildxpy.builds.results import NativeBuildResult
from buildxpy.builds.spec import BuildSpec
from buildxpy.ci.git_tags import TagRules
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError, ConfigError
from buildxpy.exports.tarballs import ExportResult, export_images
from buildxpy.manifests.registry import parse_reference
from buildxpy.pins.changes import Outcome, add_missing
from buildxpy.pins.changes import check as check_pins
from buildxpy.pins.changes import update as update_pins
from buildxpy.pins.lockfile import NAME as LOCK_NAME
from buildxpy.pins.lockfile import read_lock, write_lock
from buildxpy.pins.resolve import read_each
from buildxpy.pins.resolve import resolve as resolve_pins
from buildxpy.platforms.names import Platform
from buildxpy.platforms.names import parse as parse_platform
from buildxpy.rebuilds.check import RebuildCheck
from buildxpy.rebuilds.check import rebuild_check as check_rebuild
from buildxpy.settings.builder import BuilderConfig, NodeConfig, parse_node_flag
from buildxpy.settings.handoff import spec_from_settings
from buildxpy.settings.model import default_platforms, from_values
from buildxpy.split.options import Require, index_annotations
from buildxpy.verification.check import verify as verify_image
from buildxpy.verification.report import VerifyReport

PlatformLike = Platform | str


class BuildInputs(BuildxInputs, total=False):
    """What ``build`` and ``export`` take beyond the image, its platforms and where it goes: the
    settings of these names, each left out meaning its default. The build inputs buildx takes as
    they are (``ssh``, ``shm_size``, …) are ``BuildxInputs``."""

    target: str | None
    build_args: Mapping[str, str | None] | None
    labels: Mapping[str, str] | None
    secrets: Sequence[str]
    cache_from: Sequence[str]
    cache_to: Sequence[str]
    progress: str | None
    tags_from: str | None
    tag_rules: TagRules | Mapping[str, Any]
    oci_metadata: bool
    licenses: str | None
    cache: str
    preflight: bool
    reproducible: bool


def build(
    context: str | Path = ".",
    *,
    image: str | None = None,
    tags: Sequence[str] | None = None,
    platforms: Sequence[PlatformLike] | None = None,
    builder: str = "buildxpy",
    file: str | Path | None = None,
    push: bool = False,
    verify: bool = True,
    load: bool = False,
    output_dir: str | Path = "dist",
    runner: Runner | None = None,
    require_native: bool = False,
    report: bool | None = None,
    by_digest: bool = False,
    split: bool = False,
    require: Require | Sequence[str] = "all",
    lock: str | Path | None = None,
    **inputs: Unpack[BuildInputs],
) -> NativeBuildResult:
    """One ``docker buildx build`` for every platform; pushed only when ``push=True``, and what
    was pushed then checked (``buildxpy.verify``; ``VerificationFailed`` on a mismatch) unless
    ``verify=False``.

    The result carries the routing plan (which node builds each platform, native or emulated) and,
    when buildxpy showed the progress itself (``report``; default: stderr is not a terminal), the
    emulation-cost report. ``require_native`` refuses emulated platforms before building;
    ``by_digest`` pushes the one platform untagged and records its digest; ``split`` does that
    for every platform at once, then merges them into one index (``require``: what it needs;
    the index gets the ``index:`` and bare ``annotations``). ``lock``: a ``buildxpy.lock`` whose
    pinned bases the build takes as named contexts (``buildxpy.pin`` writes it).

    ``tags`` default to ``latest`` (none with ``tags_from="git"``). ``inputs`` takes the keys of
    ``BuildInputs``: buildx's build inputs, tags and OCI metadata from git and the cache, as the
    settings of the same names (the CI's variables, such as ``GITHUB_REF``, are read for git's
    facts and the GitHub Actions cache).

    >>> buildxpy.build(".", image="reg/app", platforms=["linux/amd64", "linux/arm64"], push=True)
    """
    spec = _spec(
        context, image=image, tags=tags, platforms=platforms, builder=builder, file=file,
        push=push, verify=verify, load=load, output_dir=output_dir, lock=lock, **inputs,
    )  # fmt: skip
    options = NativeOptions(
        require_native=require_native, report=report, by_digest=by_digest, split=split,
        require=require if require == "all" else [parse_platform(str(p)) for p in require],
        annotations=index_annotations(spec.annotations) if split else {},
    )  # fmt: skip
    return native_build(spec, runner, options)


def export(
    context: str | Path = ".",
    *,
    image: str,
    platforms: Sequence[PlatformLike] | None = None,
    tags: Sequence[str] | None = None,
    builder: str = "buildxpy",
    file: str | Path | None = None,
    output_dir: str | Path = "dist",
    load: bool = False,
    runner: Runner | None = None,
    lock: str | Path | None = None,
    **inputs: Unpack[BuildInputs],
) -> list[ExportResult]:
    """One ``type=docker`` tarball per platform in ``output_dir``; ``load=True`` loads and checks
    each. ``lock`` and ``inputs`` as for ``build``."""
    spec = _spec(
        context, image=image, tags=tags, platforms=platforms, builder=builder, file=file,
        output_dir=output_dir, lock=lock, **inputs,
    )  # fmt: skip
    return export_images(spec, runner=runner, load=load)


def pin(
    context: str | Path = ".",
    *,
    platforms: Sequence[PlatformLike] | None = None,
    file: str | Path | None = None,
    target: str | None = None,
    build_args: Mapping[str, str | None] | None = None,
    builder: str | None = None,
    lock: str | Path = LOCK_NAME,
    update: bool = False,
    check: bool = False,
    runner: Runner | None = None,
) -> Outcome:
    """The Dockerfile's base images, by digest, in ``lock`` (``buildxpy.lock``): the bases it
    lacks added, every other pin kept (``update``: every base read again, unused ones dropped).
    ``check=True`` writes nothing and raises ``BuildxpyError`` naming every base that moved or is
    not pinned. ``builder``: the builder whose registry settings apply (None: docker's own)."""
    settings = from_values({"platforms": _platform_texts(platforms), "target": target,
                            "build_args": dict(build_args or {})})  # fmt: skip
    spec = BuildSpec(
        platforms=tuple(settings.platforms), context=str(context),
        dockerfile=None if file is None else str(file), target=settings.target,
        build_args=settings.build_args,
    )  # fmt: skip
    refs = sorted(ref for ref in base_refs(spec) if "@" not in ref)
    runner = runner or Runner()
    path = Path(lock)
    pinned = read_lock(path) or {}
    if check:
        findings = check_pins(pinned, read_each(runner, refs, builder), refs)
        failed = [f.line() for f in findings if f.status != "holds"]
        if failed:
            raise BuildxpyError(f"pin --check: {'; '.join(failed)}")
        return Outcome(dict(pinned))
    asked = refs if update else [ref for ref in refs if ref not in pinned]
    current = resolve_pins(runner, asked, builder)
    outcome = update_pins(pinned, current) if update else add_missing(pinned, current)
    if not runner.dry_run and (not path.exists() or outcome.pins != pinned):
        write_lock(path, outcome.pins)
    return outcome


def rebuild_check(
    ref: str,
    context: str | Path = ".",
    *,
    platforms: Sequence[PlatformLike] | None = None,
    file: str | Path | None = None,
    builder: BuilderConfig | Mapping[str, Any] | None = None,
    lock: str | Path | None = None,
    runner: Runner | None = None,
    **inputs: Unpack[BuildInputs],
) -> RebuildCheck:
    """Build the commit behind ``ref`` (its ``org.opencontainers.image.revision``, else the
    checkout) again on a fresh builder with no cache, and compare each platform's manifest
    digest with the pushed one (``platforms``: only these). ``result.same`` says whether all
    match; each differing platform names its config fields, layers and files. ``builder``
    describes the fresh builder (driver, options, nodes, registry settings; default: a
    docker-container builder); ``lock``: the ``buildxpy.lock`` the build pinned its bases with.
    ``inputs`` as for ``build``: the inputs ``ref`` was built with."""
    runner = runner or Runner()
    config = (
        builder
        if isinstance(builder, BuilderConfig)
        else from_values({"builder": dict(builder or {})}).builder
    )
    spec = _spec(context, image=parse_reference(ref).repository, tags=None, platforms=platforms,
                 builder=config.name, file=file, output_dir="dist", lock=lock, **inputs)  # fmt: skip
    with fresh_builder(config.description(), spec.platforms, runner) as name:
        return check_rebuild(
            ref, replace(spec, builder=name), runner, platforms=_platform_texts(platforms) or ()
        )


def verify(
    ref: str,
    *,
    platforms: Sequence[PlatformLike] | None = None,
    builder: str = "buildxpy",
    runner: Runner | None = None,
) -> VerifyReport:
    """Check that the pushed image ``ref`` is what it claims, without running it: its index lists
    exactly ``platforms`` (None: any), each image's config names its entry's platform, and each
    platform's entrypoint binary is built for it. Mismatches are in the report
    (``report.ok``, ``report.raise_for_mismatch()``); the image's files are read through
    ``docker buildx build`` on ``builder``."""
    texts = None if platforms is None else [str(p) for p in _listed(platforms)]
    return verify_image(ref, texts, builder=builder, runner=runner)


def doctor(
    platforms: Sequence[PlatformLike] | None = None,
    *,
    builder: str = "buildxpy",
    runner: Runner | None = None,
) -> DoctorReport:
    """Whether this machine can build for ``platforms`` (None: ``docker/archs`` in the working
    directory, else linux/amd64 and linux/arm64): docker, the daemon, buildx, ``binfmt_misc``
    and each foreign platform's QEMU handler, the kernel, the builder."""
    wanted = default_platforms() if not platforms else _listed(platforms)
    return check_machine(wanted, builder=builder, runner=runner)


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
        settings.builder.description(), settings.builder_platforms, runner,
        force=force, bootstrap=bootstrap, use=use, timeout=timeout,
    )  # fmt: skip


def routing_plan(
    platforms: Sequence[PlatformLike] | None = None,
    *,
    builder: str = "buildxpy",
    separately: bool = False,
    runner: Runner | None = None,
) -> RoutingPlan:
    """Which node of ``builder`` builds each platform and whether it runs it natively, as buildx
    will route it (``separately``: one build per platform, as ``split`` builds)."""
    settings = from_values({"platforms": _platform_texts(platforms), "builder": {"name": builder}})
    return route_platforms(runner or Runner(), builder, settings.platforms, separately=separately)


def _spec(context: str | Path, **options: Any) -> BuildSpec:
    if not options.get("image"):
        # A Python caller passes a keyword; the command line's own words would mislead it.
        raise ConfigError("no image given: pass image='registry/name' (or set it in a Settings)")
    file = options.pop("file")
    platforms = options.pop("platforms")
    lock = options.pop("lock", None)
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
    spec = spec_from_settings(settings)
    return spec if lock is None else replace(spec, lock_file=Path(lock))


def _platform_texts(platforms: Sequence[PlatformLike] | PlatformLike | None) -> list[str] | None:
    return None if platforms is None else [str(p) for p in _listed(platforms)]


def _listed(values: Sequence[Any] | Any) -> list[Any]:
    """A lone string is one item, not a sequence of characters."""
    return [values] if isinstance(values, str | Platform) else list(values)
