"""Multi-platform manifest lists: create them from per-platform images, inspect them, and release a
version tag that points at the very index another tag points at.

Every registry read goes through ``docker buildx imagetools inspect`` and is parsed as JSON (the raw
manifest as the registry serves it); every write is ``imagetools create`` or ``docker manifest``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from buildxpy import log
from buildxpy.docker_json import ImageConfig, ImageIndex, load_json, validate_json
from buildxpy.errors import BuildxpyError, CommandFailed, ConfigError, ImageNotFound, RegistryError
from buildxpy.platforms import parse
from buildxpy.record import Record
from buildxpy.result_model import ResultModel
from buildxpy.runner import Result, Runner
from buildxpy.settings import REFERENCE, TAG
from buildxpy.verify_report import VerificationFailed, VerifyReport

Backend = Literal["imagetools", "docker"]
BACKENDS: tuple[Backend, ...] = ("imagetools", "docker")

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})

_NOT_FOUND = ("not found", "manifest unknown", "name unknown", "no such manifest")


class PlatformManifest(ResultModel):
    platform: str
    digest: str
    media_type: str
    size: int


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


class VerifyOptions(Record):
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


def usable_builder(runner: Runner, wanted: str) -> str:
    # Read-only questions, asked under --dry-run too, so that what it prints would work.
    if runner.run("buildx", "inspect", wanted, check=False).exit_code == 0:
        return wanted
    current = runner.run("buildx", "inspect", check=False)
    name = next(
        (line.split(":", 1)[1].strip() for line in current.stdout.splitlines()
         if line.startswith("Name:")),
        "",
    )  # fmt: skip
    if current.exit_code != 0 or not name:
        from buildxpy.builder_missing import builder_not_found

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
    from buildxpy.image_verify import verify

    report = verify(pushed, options.platforms, builder=options.builder, runner=runner)
    if not report.ok:
        message = report.error_message(f"{what} {pushed}, but it is")
        raise VerificationFailed(report, message + " (--no-verify skips this check)")
    return report


# --------------------------------------------------------------------------- references


class Reference(Record):
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def registry(self) -> str:
        first, slash, _ = self.repository.partition("/")
        if slash and (
            "." in first or ":" in first or first == "localhost" or first.startswith("[")
        ):
            return first
        return "docker.io"

    def at(self, digest: str) -> Reference:
        return Reference(self.repository, None, digest)

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.repository, tag, None)


def parse_reference(text: str, *, what: str = "reference", digest_ok: bool = True) -> Reference:
    match = re.match(REFERENCE, text.strip())
    if not match or not text.strip():
        raise ConfigError(
            f"invalid {what} {text!r}: expected [registry[:port]/]name[:tag][@sha256:…] "
            "with a lowercase name"
        )
    if match["digest"] and not digest_ok:
        raise ConfigError(f"invalid {what} {text!r}: a target is named by a tag, not a digest")
    return Reference(match["repo"], match["tag"], match["digest"])


def check_tag(tag: str, what: str) -> str:
    if not re.match(TAG, tag):
        raise ConfigError(
            f"invalid {what} {tag!r}: use letters, digits, '_', '.' and '-' "
            "(up to 128, not starting with '.' or '-')"
        )
    return tag


def is_loopback(registry: str) -> bool:
    """127.0.0.0/8, ::1 and localhost, with or without a port."""
    host = registry
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- argv builders


def _builder_flag(builder: str | None) -> list[str]:
    # The builder's registry settings (a registry marked http in its buildkitd config, mirrors)
    # apply to imagetools only when it is named.
    return ["--builder", builder] if builder else []


def inspect_argv(ref: str, builder: str | None = None) -> list[str]:
    return ["buildx", "imagetools", "inspect", ref, "--raw", *_builder_flag(builder)]


def image_config_argv(ref: str, builder: str | None = None) -> list[str]:
    return [
        "buildx", "imagetools", "inspect", ref, "--format", "{{json .Image}}",
        *_builder_flag(builder),
    ]  # fmt: skip


def imagetools_create_argv(
    targets: Sequence[str],
    sources: Sequence[str],
    *,
    annotations: Mapping[str, str] | None = None,
    builder: str | None = None,
) -> list[str]:
    argv = ["buildx", "imagetools", "create", *_builder_flag(builder)]
    for target in targets:
        argv += ["-t", target]
    for key, value in (annotations or {}).items():
        argv += ["--annotation", f"index:{key}={value}"]
    return [*argv, *sources]


def docker_manifest_argvs(
    target: str, sources: Sequence[str], *, insecure: bool
) -> list[list[str]]:
    """``docker manifest`` keeps lists in a local store: a stale one from an earlier failed push
    would be amended into the new list, so it is removed first."""
    flag = ["--insecure"] if insecure else []
    return [
        ["manifest", "rm", target],
        ["manifest", "create", "--amend", *flag, target, *sources],
        ["manifest", "push", "--purge", *flag, target],
    ]


def wants_insecure(refs: Sequence[Reference]) -> bool:
    """``docker manifest`` talks to registries itself and, unlike the engine, does not treat
    loopback registries as plain HTTP. Only when every registry involved is on this machine is
    ``--insecure`` passed, so no remote registry is ever reached without TLS verification."""
    return all(is_loopback(ref.registry) for ref in refs)


# --------------------------------------------------------------------------- reading


class Fetched(Record):
    ref: str
    digest: str
    media_type: str
    size: int
    # The index or manifest list; None when ``ref`` names one image's manifest.
    index: ImageIndex | None

    @property
    def is_index(self) -> bool:
        return self.index is not None


def fetch(runner: Runner, ref: str, builder: str | None = None) -> Fetched:
    """The manifest ``ref`` names, as the registry stores it; its digest is that of these bytes."""
    result = _read(runner, ref, inspect_argv(ref, builder))
    return parse_raw(ref, result.stdout)


def parse_raw(ref: str, raw: str) -> Fetched:
    # buildx prints the registry's bytes unchanged, so their hash is the manifest digest.
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        raise RegistryError(f"the registry returned no JSON manifest for {ref}") from None
    if not isinstance(body, dict):
        raise RegistryError(f"the registry returned no JSON manifest for {ref}")
    media_type = str(body.get("mediaType", ""))
    index = None
    if media_type in INDEX_TYPES or "manifests" in body:
        index = validate_json(ImageIndex, body, what=f"the index of {ref}")
    data = raw.encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return Fetched(ref, digest, media_type, len(data), index)


def image_platform(runner: Runner, ref: str, builder: str | None = None) -> str:
    """The platform a single-platform image's config declares."""
    result = _read(runner, ref, image_config_argv(ref, builder))
    config = load_json(ImageConfig, result.stdout, what=f"the image config of {ref}")
    return normalized(config.platform_text)


def normalized(text: str) -> str:
    """``os/arch[/variant]`` as buildx spells it; what no platform parser knows is kept as is."""
    try:
        return str(parse(text))
    except ConfigError:
        return text


def platform_entries(index: ImageIndex) -> list[PlatformManifest]:
    """The index's image entries, attestation manifests left out."""
    return [
        PlatformManifest(
            platform=normalized(entry.platform.text),
            digest=entry.digest,
            media_type=entry.media_type,
            size=entry.size,
        )
        for entry in index.images
        # An entry without a platform is no image of a platform (an artifact, a signature).
        if entry.platform is not None
    ]


def _read(runner: Runner, ref: str, argv: list[str]) -> Result:
    try:
        return runner.run(*argv)
    except CommandFailed as exc:
        raise registry_failure(ref, exc) from None


def registry_failure(ref: str, exc: CommandFailed, *, writing: bool = False) -> BuildxpyError:
    """One line that says what went wrong with ``ref``; docker's own last line is the reason
    (when writing, it names the source that was missing)."""
    reason = _reason(exc.stderr_tail)
    if not reason:
        return exc
    if missing_builder := re.search(r'no builder "([^"]+)" found', reason):
        from buildxpy.builder_missing import builder_not_found

        return builder_not_found(missing_builder[1])
    missing = any(marker in reason.lower() for marker in _NOT_FOUND)
    if writing:
        return (ImageNotFound if missing else RegistryError)(f"cannot create {ref}: {reason}")
    if missing:
        return ImageNotFound(f"{ref} does not exist in its registry")
    return RegistryError(f"cannot reach {ref}: {reason}")


def _reason(tail: Sequence[str]) -> str:
    lines = [line.strip() for line in tail if line.strip()]
    if not lines:
        return ""
    return re.sub(r"^(?:ERROR|error):\s*", "", lines[-1])


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
    parse_reference(image, what="image", digest_ok=False)
    check_tag(version, "version")
    check_tag(from_tag, "source tag")
    if version == from_tag:
        raise ConfigError(f"version and source tag are both {version!r}")
    runner = runner or Runner()
    options = verify_options(runner, verify, platforms, builder)
    reader = options.builder if options is not None else None
    source = Reference(image, from_tag)
    target = Reference(image, version)
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


def _digest_if_present(runner: Runner, ref: Reference, builder: str | None) -> str | None:
    try:
        return fetch(runner, str(ref), builder).digest
    except ImageNotFound:
        return None


def _check_same(runner: Runner, target: Reference, digest: str, builder: str | None) -> None:
    now = fetch(runner, str(target), builder).digest
    if now != digest:
        raise BuildxpyError(f"{target} now points at {now}, not at {digest} as intended")
