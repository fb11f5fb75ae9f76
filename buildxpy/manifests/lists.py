"""Multi-platform manifest lists: create them from per-platform images, inspect them, and release a
version tag that points at the very index another tag points at.

Every registry read goes through ``docker buildx imagetools inspect`` and is parsed as JSON (the raw
manifest as the registry serves it); every write is ``imagetools create`` or ``docker manifest``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from buildxpy import log
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError, CommandFailed, ConfigError, ImageNotFound
from buildxpy.manifests.registry import (
    PlatformManifest,
    Reference,
    check_tag,
    docker_manifest_argvs,
    fetch,
    image_platform,
    imagetools_create_argv,
    normalized,
    parse_reference,
    platform_entries,
    registry_failure,
    wants_insecure,
)
from buildxpy.result_model import ResultModel
from buildxpy.verification.report import VerificationFailed, VerifyReport

Backend = Literal["imagetools", "docker"]
BACKENDS: tuple[Backend, ...] = ("imagetools", "docker")


class ManifestInfo(ResultModel):
    ref: str
    digest: str
    media_type: str
    is_index: bool
    manifests: list[PlatformManifest]

    @property
    def platforms(self) -> list[str]:
        return [m.platform for m in self.manifests]


class ManifestResult(ResultModel):
    ref: str
    refs: list[str]
    digest: str | None
    backend: Backend
    sources: list[str]
    dry_run: bool = False
    # What `buildxpy verify` found in the new index; None when it was not checked.
    verification: VerifyReport | None = None


class ReleaseResult(ResultModel):
    image: str
    version: str
    from_tag: str
    ref: str
    source: str
    digest: str
    # What VERSION pointed at before (None: a new tag); equal to digest means nothing was written.
    previous: str | None = None
    dry_run: bool = False
    # What `buildxpy verify` found behind the new tag; None when it was not checked.
    verification: VerifyReport | None = None


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """How a command that pushes checks what it pushed (``buildxpy.verify``)."""

    # The exact platform set expected; None: whatever the index lists.
    platforms: Sequence[str] | None = None
    builder: str = "buildxpy"


def verify_options(
    runner: Runner, verify: bool, platforms: Sequence[str] | None, builder: str
) -> VerifyOptions | None:
    """How to check what is about to be pushed, settled before the push: the builder that reads
    the image is the one named when it exists, else the current one (a job that only assembles or
    promotes images has no builder of its own), so no check fails after the push for want of it."""
    if not verify:
        return None
    return VerifyOptions(platforms, usable_builder(runner, builder))


def existing_builder(runner: Runner, wanted: str) -> str | None:
    """``wanted`` when it exists, else None (docker's current builder reads and writes)."""
    return wanted if runner.run("buildx", "inspect", wanted, check=False).exit_code == 0 else None


def usable_builder(runner: Runner, wanted: str) -> str:
    # Read-only questions, asked under --dry-run too, so that what it prints would work.
    if existing_builder(runner, wanted) is not None:
        return wanted
    current = runner.run("buildx", "inspect", check=False)
    name = next(
        (line.split(":", 1)[1].strip() for line in current.stdout.splitlines()
         if line.startswith("Name:")),
        "",
    )  # fmt: skip
    if current.exit_code != 0 or not name:
        from buildxpy.builders.missing import builder_not_found

        raise builder_not_found(wanted)
    log.get().info("builder does not exist; verifying with the current one",
                   builder=wanted, current=name)  # fmt: skip
    return name


def check_before_push(
    runner: Runner, options: VerifyOptions | None, listed: Sequence[str], what: str
) -> None:
    """Refuse, before any tag moves, an index whose platform set is known to be wrong already."""
    if options is None or options.platforms is None:
        return
    expected = {normalized(p) for p in options.platforms}
    have = {normalized(p) for p in listed}
    problems = [f"{p}: missing" for p in sorted(expected - have)]
    problems += [f"{p}: not among the expected platforms" for p in sorted(have - expected)]
    if problems:
        log.get().error("verification failed before the push", what=what, problems=problems)
        raise ConfigError(
            f"{what} would not be what it claims, so nothing was pushed: {'; '.join(problems)} "
            "(--no-verify skips this check)"
        )


def check_pushed(
    runner: Runner, pushed: str, options: VerifyOptions | None, what: str
) -> VerifyReport | None:
    """Verify ``pushed`` (a reference by digest) unless ``options`` is None; raise on a mismatch."""
    if options is None or runner.dry_run:
        return None
    from buildxpy.verification.check import verify

    report = verify(pushed, options.platforms, builder=options.builder, runner=runner)
    if not report.ok:
        # What was pushed is live and wrong: an error for whoever reads the log, not only the
        # command's last line.
        log.get().error("verification failed after the push", what=what, ref=pushed,
                        mismatches=report.mismatches)  # fmt: skip
        message = report.error_message(f"{what} {pushed}, but it is")
        raise VerificationFailed(report, message + " (--no-verify skips this check)")
    return report


# --------------------------------------------------------------------------- inspect


def manifest_inspect(ref: str, runner: Runner | None = None) -> ManifestInfo:
    parse_reference(ref)
    runner = runner or Runner()
    fetched = fetch(runner, ref)
    if fetched.index is not None:
        manifests = platform_entries(fetched.index)
    else:
        manifests = [
            PlatformManifest(
                platform=image_platform(runner, ref),
                digest=fetched.digest,
                media_type=fetched.media_type,
                size=fetched.size,
            )
        ]
    return ManifestInfo(
        ref=ref,
        digest=fetched.digest,
        media_type=fetched.media_type,
        is_index=fetched.is_index,
        manifests=manifests,
    )


# --------------------------------------------------------------------------- create


def manifest_create(
    ref: str,
    sources: Sequence[str],
    runner: Runner | None = None,
    *,
    backend: Backend = "imagetools",
    tags: Sequence[str] = (),
    verify: bool = True,
    platforms: Sequence[str] | None = None,
    builder: str = "buildxpy",
) -> ManifestResult:
    """One index ``ref`` (and ``tags`` of the same repository) made of ``sources``; then, unless
    ``verify=False``, checked (exactly ``platforms`` when given, read with ``builder``)."""
    target = parse_reference(ref, what="target reference", digest_ok=False)
    targets = [target, *(target.with_tag(check_tag(t, "tag")) for t in tags)]
    if not sources:
        raise ConfigError("manifest create needs at least one source image")
    refs = [parse_reference(s, what="source reference") for s in sources]
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}: use imagetools or docker")
    runner = runner or Runner()
    options = verify_options(runner, verify, platforms, builder)
    return _create(runner, targets, refs, backend, verify=options)


def _create(
    runner: Runner,
    targets: list[Reference],
    sources: list[Reference],
    backend: Backend,
    *,
    annotations: Mapping[str, str] | None = None,
    verify: VerifyOptions | None = None,
) -> ManifestResult:
    names = [str(t) for t in targets]
    if annotations and backend != "imagetools":
        # `docker manifest annotate` sets platform fields of entries, never index annotations.
        raise ConfigError("the docker backend cannot set index annotations; use imagetools")
    builder = verify.builder if verify is not None else None
    if verify is not None and verify.platforms is not None and not runner.dry_run:
        listed = [p for s in sources for p in source_platforms(runner, str(s), builder)]
        check_before_push(runner, verify, listed, names[0])
    if backend == "imagetools":
        used = [str(s) for s in sources]
        create = imagetools_create_argv(names, used, annotations=annotations, builder=builder)
        _write(runner, names[0], create)
    else:
        expanded = _single_platform_sources(runner, sources)
        used = [str(s) for s in expanded]
        insecure = wants_insecure([*targets, *expanded])
        for name in names:
            _docker_manifest(runner, name, used, insecure=insecure)
    digest = None
    report = None
    if not runner.dry_run:
        digest = fetch(runner, names[0], builder).digest
        log.get().info("manifest created", ref=names[0], digest=digest, backend=backend)
        report = check_pushed(runner, str(targets[0].at(digest)), verify, "created")
    return ManifestResult(
        ref=names[0], refs=names, digest=digest, backend=backend, sources=used,
        dry_run=runner.dry_run, verification=report,
    )  # fmt: skip


def source_platforms(runner: Runner, ref: str, builder: str | None) -> list[str]:
    """The platforms a source brings into an index: an index's entries, or one image's own."""
    fetched = fetch(runner, ref, builder)
    if fetched.index is not None:
        return [m.platform for m in platform_entries(fetched.index)]
    return [image_platform(runner, ref, builder)]


def _single_platform_sources(runner: Runner, sources: list[Reference]) -> list[Reference]:
    """``docker manifest create`` refuses a source that is itself a list, so an index source
    contributes each of its platform images, pinned by digest (its attestations cannot be kept)."""
    out: list[Reference] = []
    for source in sources:
        fetched = fetch(runner, str(source))
        if fetched.index is not None:
            out += [source.at(m.digest) for m in platform_entries(fetched.index)]
        else:
            out.append(source)
    return list(dict.fromkeys(out))


def _docker_manifest(runner: Runner, target: str, sources: list[str], *, insecure: bool) -> None:
    remove, create, push = docker_manifest_argvs(target, sources, insecure=insecure)
    runner.run(*remove, mutating=True, check=False)
    _write(runner, target, create)
    _write(runner, target, push)


def _write(runner: Runner, ref: str, argv: list[str]) -> None:
    try:
        runner.run(*argv, mutating=True)
    except CommandFailed as exc:
        raise registry_failure(ref, exc, writing=True) from None


# --------------------------------------------------------------------------- release


def release(
    version: str,
    *,
    image: str,
    from_tag: str = "latest",
    runner: Runner | None = None,
    verify: bool = True,
    platforms: Sequence[str] | None = None,
    builder: str = "buildxpy",
) -> ReleaseResult:
    """``IMAGE:VERSION`` -> the index behind ``IMAGE:FROM``, by digest, byte for byte; then, unless
    ``verify=False``, checked (exactly ``platforms`` when given, read with ``builder``)."""
    source, target = _release_refs(image, from_tag, version)
    runner = runner or Runner()
    options = verify_options(runner, verify, platforms, builder)
    reader = options.builder if options is not None else None
    fetched = fetch(runner, str(source), reader)
    if not fetched.is_index:
        # imagetools would wrap a lone manifest in a new index, whose digest differs.
        raise BuildxpyError(
            f"{source} is a single-platform manifest, not an index; release re-tags indexes only"
        )
    pinned = source.at(fetched.digest)
    previous = _digest_if_present(runner, target, reader)
    result = ReleaseResult(
        image=image, version=version, from_tag=from_tag, ref=str(target), source=str(pinned),
        digest=fetched.digest, previous=previous, dry_run=runner.dry_run,
    )  # fmt: skip
    if previous == fetched.digest:
        log.get().info("already released", ref=str(target), digest=previous)
        return result
    assert fetched.index is not None
    check_before_push(
        runner, options, [m.platform for m in platform_entries(fetched.index)], str(target)
    )
    if previous is not None:
        log.get().warning("moving an existing tag", ref=str(target), old=previous, new=pinned)
    _write(
        runner, str(target), imagetools_create_argv([str(target)], [str(pinned)], builder=reader)
    )
    if not runner.dry_run:
        _check_same(runner, target, fetched.digest, reader)
        log.get().info("released", ref=str(target), digest=fetched.digest, source=str(source))
        report = check_pushed(runner, str(target.at(fetched.digest)), options, "released")
        result = result.model_copy(update={"verification": report})
    return result


def _release_refs(image: str, from_tag: str, version: str) -> tuple[Reference, Reference]:
    parse_reference(image, what="image", digest_ok=False)
    check_tag(version, "version")
    check_tag(from_tag, "source tag")
    if version == from_tag:
        raise ConfigError(f"version and source tag are both {version!r}")
    return Reference(image, from_tag), Reference(image, version)


def _digest_if_present(runner: Runner, ref: Reference, builder: str | None) -> str | None:
    try:
        return fetch(runner, str(ref), builder).digest
    except ImageNotFound:
        return None


def _check_same(runner: Runner, target: Reference, digest: str, builder: str | None) -> None:
    now = fetch(runner, str(target), builder).digest
    if now != digest:
        raise BuildxpyError(f"{target} now points at {now}, not at {digest} as intended")
