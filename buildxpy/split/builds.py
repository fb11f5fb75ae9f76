"""Builds by digest: one platform pushed untagged with its record written (``--by-digest``), or
every platform at once, each by digest, then merged into one index (``--split``). A split that
fails keeps the records it made, and a run of the same configuration builds only what is missing.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from buildxpy import log
from buildxpy.builders.drivers import DOCKER_DRIVER
from buildxpy.builders.missing import explain_failure
from buildxpy.builders.routing import RoutingPlan, refuse_emulated
from buildxpy.builds.argv import by_digest_argv
from buildxpy.builds.bases import prepare_bases
from buildxpy.builds.concurrent import Cancelled, boot_first, run_each
from buildxpy.builds.defaults import complete
from buildxpy.builds.one_build import read_metadata
from buildxpy.builds.report import BuildReport
from buildxpy.builds.reporting import (
    NativeOptions,
    capturing,
    finish_report,
    plan_build,
    progress_capture,
    timed,
    with_rawjson,
)
from buildxpy.builds.results import NativeBuildResult
from buildxpy.builds.secrets import resolve_secrets
from buildxpy.builds.spec import BuildSpec, check_inputs
from buildxpy.docker.runner import Runner, output_prefix
from buildxpy.errors import BuildxpyError, CommandFailed, ConfigError
from buildxpy.exports.tarballs import platform_ref, split_tag
from buildxpy.file_install import scratch_beside
from buildxpy.manifests.lists import VerifyOptions
from buildxpy.manifests.registry import imagetools_create_argv
from buildxpy.platforms.names import Platform
from buildxpy.split.merge import check_all, merge_records
from buildxpy.split.options import MergeResult, index_annotations, oci_annotations
from buildxpy.split.records import (
    DigestRecord,
    read_record,
    record_path,
    records_dir,
    write_record,
)

PENDING_NAME = ".split-pending.json"


# --------------------------------------------------------------------------- by digest


def check_by_digest(spec: BuildSpec) -> str:
    image = spec.require_image()
    if not spec.push:
        raise ConfigError(
            "a build by digest pushes its image, but pushing is off (--no-push or DO_NOT_PUSH)"
        )
    if spec.load:
        raise ConfigError("--load cannot be combined with a build by digest (nothing is tagged)")
    return image


def digest_build(spec: BuildSpec, runner: Runner, options: NativeOptions) -> NativeBuildResult:
    """``--by-digest``: one platform, pushed untagged, its digest recorded."""
    check_by_digest(spec)
    if len(spec.platforms) != 1:
        raise ConfigError(
            "--by-digest builds one platform (--platform P); use --split for several at once"
        )
    # The labels, annotations and default cache a plain build of this spec gets.
    spec = complete(spec, runner)
    check_inputs(spec)
    resolve_secrets(spec.secrets)
    spec = prepare_bases(spec, runner)
    plan = plan_build(spec, runner, separately=True)
    if options.require_native:
        refuse_emulated(plan)
    capture = progress_capture(spec, options.report, runner)
    with capturing(runner, capture), timed() as clock:
        record = push_by_digest(with_rawjson(spec, capture), spec.platforms[0], runner, plan)
    report = finish_report(spec, capture, plan, clock)
    return _digest_result(
        spec, plan, report, [record] if record else [], None, built=spec.platforms
    )


def push_by_digest(
    spec: BuildSpec, platform: Platform, runner: Runner, plan: RoutingPlan
) -> DigestRecord | None:
    """Build and push ``platform`` without a tag; write and return its record (None: dry run)."""
    image = spec.require_image()
    path = record_path(spec.output_dir, platform)
    output, staging = digest_output(spec, platform, plan)
    if staging:
        log.get().info(
            "the docker driver cannot push by digest; pushing under a per-platform tag",
            builder=spec.builder, tag=staging,
        )  # fmt: skip
    if runner.dry_run:
        runner.stream(*by_digest_argv(spec, platform, output, metadata_file=_metadata_of(path)))
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildxpyError(f"cannot create {path.parent}: {exc.strerror}") from None
    with scratch_beside(_metadata_of(path)) as metadata:
        try:
            runner.stream(*by_digest_argv(spec, platform, output, metadata_file=metadata))
        except CommandFailed as exc:
            explained = explain_failure(runner, spec.builder, exc)
            if explained is not exc:
                raise explained from None
            raise exc.restated(
                f"the build for {platform} failed: `docker buildx build` exited with "
                f"{exc.exit_code}"
            ) from None
        digest = read_metadata(metadata).digest
    if digest is None:
        raise BuildxpyError(f"the build for {platform} reported no image digest")
    route = plan.route_for(platform)
    record = DigestRecord(
        image=image, platform=str(platform), digest=digest,
        node=route.node if route else None, native=route.native if route else None,
    )  # fmt: skip
    write_record(path, record)
    log.get().info("pushed by digest", platform=str(platform), digest=digest, record=str(path))
    return record


def digest_output(spec: BuildSpec, platform: Platform, plan: RoutingPlan) -> tuple[str, str | None]:
    """``--output`` for an untagged push, and the tag used instead where there must be one.

    buildx refuses ``push-by-digest`` on the docker driver (every release from 0.13 on): there the
    image is pushed under its per-platform tag (``IMAGE:TAG-os-arch``, as ``export`` names them)
    and recorded by digest all the same."""
    image = spec.require_image()
    if plan.driver == DOCKER_DRIVER:
        tag = split_tag(spec.tags[0])[1] if spec.tags else "latest"
        staging = platform_ref(f"{image}:{tag}", platform)
        return f"type=image,name={staging},push=true", staging
    return f"type=image,name={image},push-by-digest=true,name-canonical=true,push=true", None


def _metadata_of(record: Path) -> Path:
    return record.with_name(f".{record.stem}.metadata.json")


def _digest_result(
    spec: BuildSpec,
    plan: RoutingPlan,
    report: BuildReport | None,
    records: list[DigestRecord],
    merged: MergeResult | None,
    *,
    built: Sequence[Platform],
) -> NativeBuildResult:
    digest = merged.digest if merged else records[0].digest if len(records) == 1 else None
    return NativeBuildResult(
        digest=digest,
        tags=merged.refs if merged else [],
        platforms=[str(p) for p in spec.platforms],
        pushed=bool(records) or bool(merged and merged.digest),
        builder=spec.builder,
        metadata_file=None,
        plan=plan,
        report=report,
        records=records,
        merge=merged,
        built=[str(p) for p in built],
    )


# --------------------------------------------------------------------------- split


def split_build(spec: BuildSpec, runner: Runner, options: NativeOptions) -> NativeBuildResult:
    """One build by digest per platform, all at once, then the merge. A platform that fails
    leaves the others' records: run again and only the missing ones are built."""
    image = check_by_digest(spec)
    # The labels, annotations and default cache a plain build of this spec gets.
    spec = complete(spec, runner)
    check_inputs(spec)
    resolve_secrets(spec.secrets)
    spec = prepare_bases(spec, runner)
    plan = plan_build(spec, runner, separately=True)
    if options.require_native:
        refuse_emulated(plan)
    keys = {p: build_key(spec, p, plan) for p in spec.platforms}
    kept = _kept_records(spec, image, keys, runner)
    todo = [p for p in spec.platforms if str(p) not in kept]
    capture = progress_capture(spec, options.report, runner)
    several = len(todo) > 1
    records = dict(kept)
    if not runner.dry_run:
        write_pending(spec.output_dir, keys)
    with capturing(runner, capture):
        built_spec = with_rawjson(spec, capture)

        def job(platform: Platform) -> DigestRecord | None:
            with output_prefix(f"[{platform}] " if several else None):
                return push_by_digest(built_spec, platform, runner, plan)

        boot_first(runner, spec.builder, len(todo))
        with timed() as clock:
            outcomes = run_each(runner, {str(p): functools.partial(job, p) for p in todo})
    failures = {p: o for p, o in outcomes.items() if isinstance(o, BaseException)}
    records.update({p: o for p, o in outcomes.items() if isinstance(o, DigestRecord)})
    report = finish_report(spec, capture, plan, clock) if todo else None
    if failures:
        raise _split_failure(failures, records)
    ordered = [records[str(p)] for p in spec.platforms if str(p) in records]
    merged = merge_records(
        ordered, refs=spec.tags, platforms=spec.platforms, image=image, require=options.require,
        annotations=_merged_annotations(spec, options), runner=runner,
        verify=VerifyOptions(None, spec.builder) if spec.verify else None, builder=spec.builder,
    ) if not runner.dry_run else _dry_merge(spec, image, runner, options)  # fmt: skip
    if not runner.dry_run:
        (records_dir(spec.output_dir) / PENDING_NAME).unlink(missing_ok=True)
    return _digest_result(spec, plan, report, ordered, merged, built=todo)


def _kept_records(
    spec: BuildSpec, image: str, keys: Mapping[Platform, str], runner: Runner
) -> dict[str, DigestRecord]:
    """The records of an earlier run that failed part way, for platforms built the same way."""
    kept = reusable_records(spec, image, keys)
    if kept and not runner.dry_run:
        # A record whose image is gone from the registry is built again, not merged in vain.
        for platform, why in check_all(runner, list(kept.values()), spec.builder).items():
            log.get().warning(
                "an earlier record is not usable; building again", platform=platform, reason=why
            )
            del kept[platform]
    if kept:
        log.get().info("kept from the failed run before", platforms=sorted(kept))
    return kept


def _split_failure(
    failures: Mapping[str, BaseException], records: Mapping[str, DigestRecord]
) -> BaseException:
    for error in failures.values():
        if isinstance(error, KeyboardInterrupt | Cancelled):
            return KeyboardInterrupt()
    first = next(iter(failures.values()))
    if not isinstance(first, BuildxpyError):
        return first
    kept = f"; records kept for {', '.join(sorted(records))}" if records else ""
    message = (
        f"split build failed for {', '.join(failures)}{kept}: run it again to build only "
        f"{'that platform' if len(failures) == 1 else 'those platforms'} — {first.message}"
    )
    details = [
        line
        for error in failures.values()
        if isinstance(error, BuildxpyError)
        for line in error.details
    ]
    return BuildxpyError(message, details=details)


def _merged_annotations(spec: BuildSpec, options: NativeOptions) -> dict[str, str]:
    """The index's: the OCI metadata, the build's ``index:`` annotations and the merge's own."""
    return {**oci_annotations(spec.labels), **index_annotations(spec.annotations),
            **options.annotations}  # fmt: skip


def _dry_merge(spec: BuildSpec, image: str, runner: Runner, options: NativeOptions) -> MergeResult:
    sources = [f"{image}@<digest of {p}>" for p in spec.platforms]
    annotations = _merged_annotations(spec, options)
    argv = imagetools_create_argv(spec.tags, sources, annotations=annotations, builder=spec.builder)
    runner.run(*argv, mutating=True)
    return MergeResult(
        image=image, refs=list(spec.tags), digest=None, platforms=[str(p) for p in spec.platforms],
        sources=sources, annotations=annotations, dry_run=True,
    )  # fmt: skip


def build_key(spec: BuildSpec, platform: Platform, plan: RoutingPlan) -> str:
    """What a record from an earlier run must have been built from to be kept: the same command
    (without its progress and metadata file) from the same context directory."""
    output, _ = digest_output(spec, platform, plan)
    argv = by_digest_argv(replace(spec, progress=None), platform, output, metadata_file="-")
    context = spec.context if "://" in spec.context else str(Path(spec.context).resolve())
    return hashlib.sha256(json.dumps([argv, context]).encode()).hexdigest()


def reusable_records(
    spec: BuildSpec, image: str, keys: Mapping[Platform, str]
) -> dict[str, DigestRecord]:
    """Records a failed split left, built from exactly this configuration."""
    pending = read_pending(spec.output_dir)
    kept: dict[str, DigestRecord] = {}
    for platform, key in keys.items():
        if pending.get(platform.slug) != key:
            continue
        path = record_path(spec.output_dir, platform)
        with contextlib.suppress(BuildxpyError):
            record = read_record(path)
            if record.image == image and record.platform == str(platform):
                kept[str(platform)] = record
    return kept


def read_pending(output_dir: Path) -> dict[str, str]:
    path = records_dir(output_dir) / PENDING_NAME
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def write_pending(output_dir: Path, keys: Mapping[Platform, str]) -> None:
    """Marks a split as unfinished until its merge succeeds; only then are its records reused."""
    path = records_dir(output_dir) / PENDING_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.tmp")
        partial.write_text(json.dumps({p.slug: k for p, k in keys.items()}, indent=2) + "\n")
        partial.replace(path)
    except OSError as exc:
        raise BuildxpyError(f"cannot write {path}: {exc.strerror}") from None
