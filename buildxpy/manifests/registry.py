"""A registry's side of manifests: references, the imagetools and docker manifest argv, and reading
an image or index as the registry serves it (``imagetools inspect --raw``; its digest is that of
the bytes)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from buildxpy.docker.models import ImageConfig, ImageIndex, load_json, validate_json
from buildxpy.docker.references import REFERENCE, TAG
from buildxpy.docker.runner import Result, Runner
from buildxpy.errors import BuildxpyError, CommandFailed, ConfigError, ImageNotFound, RegistryError
from buildxpy.platforms.names import parse
from buildxpy.result_model import ResultModel

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})

_NOT_FOUND = ("not found", "manifest unknown", "name unknown", "no such manifest")


class PlatformManifest(ResultModel):
    platform: str
    digest: str
    media_type: str
    size: int


# --------------------------------------------------------------------------- references


@dataclass(frozen=True, slots=True)
class Reference:
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


@dataclass(frozen=True, slots=True)
class Fetched:
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


def image_config(runner: Runner, ref: str, builder: str | None = None) -> ImageConfig:
    """The config of the image ``ref`` names: where a lone image says its platform."""
    result = _read(runner, ref, image_config_argv(ref, builder))
    return load_json(ImageConfig, result.stdout, what=f"the image config of {ref}")


def image_platform(runner: Runner, ref: str, builder: str | None = None) -> str:
    """The platform a single-platform image's config declares."""
    return normalized(image_config(runner, ref, builder).platform_text)


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
        from buildxpy.builders.missing import builder_not_found

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
