"""The index a manifest-tool spec describes (``manifest create --from-spec``), written with buildx
after each entry is resolved as manifest-tool resolves it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from buildxpy.docker.runner import Runner
from buildxpy.errors import ConfigError
from buildxpy.manifests.lists import BACKENDS, Backend, ManifestResult, _create, verify_options
from buildxpy.manifests.registry import (
    Reference,
    check_tag,
    fetch,
    image_platform,
    normalized,
    parse_reference,
)
from buildxpy.manifests.spec_file import (
    ManifestSpec,
    SpecEntry,
    SpecPlatform,
    check_declared,
    check_variant,
    load_spec,
)
from buildxpy.platforms.names import parse

if TYPE_CHECKING:
    from buildxpy.docker.models import ImageIndex

_DOCKER_TYPES = "application/vnd.docker."


@dataclass(frozen=True, slots=True)
class _Image:
    """One image the index will list."""

    platform: str
    # None: a Windows image whose release only its config tells (not read here).
    os_version: str | None
    os_features: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Member:
    number: int
    source: Reference
    images: list[_Image]
    media_types: list[str]


def manifest_create_from_spec(
    spec: Path | ManifestSpec,
    runner: Runner | None = None,
    *,
    backend: Backend = "imagetools",
    verify: bool = True,
    builder: str = "buildxpy",
) -> ManifestResult:
    """The index a manifest-tool spec describes, written with buildx.

    Each entry is resolved as manifest-tool resolves it: an index contributes all of its images,
    an image its own platform, completed by what the spec leaves out (the variant of an arm image,
    say). buildx takes every platform from the images themselves, so an entry whose image is not
    the platform the spec declares is refused rather than listed under the wrong platform.
    Unless ``verify=False`` the new index is then checked (``buildxpy.verify``) to list exactly
    those platforms, read with ``builder``.
    """
    loaded = load_spec(spec) if isinstance(spec, Path) else spec
    target = parse_reference(loaded.image, what="spec image", digest_ok=False)
    tags = [target.with_tag(check_tag(t, "spec tag")) for t in loaded.tags]
    targets = list(dict.fromkeys([target, *tags]))
    entries = _entries(loaded)
    annotations = _checked_annotations(loaded.annotations, backend)
    runner = runner or Runner()
    members = [_member(runner, n, ref, entry) for n, (ref, entry) in enumerate(entries, start=1)]
    _refuse_shared_platforms(members)
    if annotations and all(t.startswith(_DOCKER_TYPES) for m in members for t in m.media_types):
        # buildx then writes a Docker manifest list, which has no annotations and would drop them.
        raise ConfigError(
            "the spec has annotations, but every image is a Docker v2 manifest, so the result "
            "would be a Docker manifest list, which cannot carry them; push OCI images or drop "
            "the annotations"
        )
    platforms = list(dict.fromkeys(i.platform for m in members for i in m.images))
    return _create(
        runner, targets, [m.source for m in members], backend, annotations=annotations or None,
        verify=verify_options(runner, verify, platforms, builder),
    )  # fmt: skip


def _entries(loaded: ManifestSpec) -> list[tuple[Reference, SpecEntry]]:
    """Each entry's reference, checked before any registry call as manifest-tool checks it."""
    if not loaded.manifests:
        raise ConfigError("the spec lists no manifests: an index needs at least one image")
    entries = [
        (parse_reference(e.image, what=f"manifests[{n}] image"), e)
        for n, e in enumerate(loaded.manifests, start=1)
    ]
    for number, (_, entry) in enumerate(entries, start=1):
        check_declared(number, entry.platform)
    return entries


def _checked_annotations(annotations: Mapping[str, str], backend: Backend) -> dict[str, str]:
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}: use imagetools or docker")
    if annotations and backend == "docker":
        raise ConfigError(
            "the spec has annotations, which docker manifest cannot write; use the imagetools backend"
        )
    for key in annotations:
        if not key or "=" in key:
            # buildx splits `index:KEY=VALUE` at the first '='.
            raise ConfigError(f"annotations: {key!r} cannot be an annotation key")
    return dict(annotations)


def _member(runner: Runner, number: int, ref: Reference, entry: SpecEntry) -> _Member:
    """The images one entry brings, refused when they are not the platform the spec declares."""
    declared = entry.platform
    fetched = fetch(runner, str(ref))
    if fetched.index is not None:
        # manifest-tool lists every image of an index as it stands, attestations included.
        images = _index_images(fetched.index)
        if declared.declared and not any(_fits(declared, i.platform) for i in images):
            have = ", ".join(i.platform for i in images) or "no image"
            raise ConfigError(
                f"manifests[{number}]: {ref} has {have}, but the spec says {_said(declared)}"
            )
        types = [m.media_type for m in fetched.index.manifests]
        return _Member(number, ref, images, types)
    found = _normal(image_platform(runner, str(ref)))
    wanted = _resolve(declared, found)
    if declared.variant and not declared.os:
        os_name, arch, _ = _parts(wanted)
        check_variant(f"manifests[{number}].platform", os_name, arch, declared.variant)
    if wanted != found:
        raise ConfigError(
            f"manifests[{number}]: {ref} is a {found} image, "
            f"but the spec says {_said(declared) if declared.declared else wanted}"
        )
    windows = _parts(found)[0] == "windows"
    image = _Image(
        found, declared.osversion or (None if windows else ""), tuple(declared.osfeatures)
    )
    return _Member(number, ref, [image], [fetched.media_type])


def _index_images(index: ImageIndex) -> list[_Image]:
    return [
        _Image(
            _normal(normalized(entry.platform.text)),
            entry.platform.os_version,
            tuple(entry.platform.os_features),
        )
        for entry in index.images
        if entry.platform is not None
    ]


def _resolve(declared: SpecPlatform, found: str) -> str:
    """The platform manifest-tool writes for an image of platform ``found``: os and architecture
    from the spec unless it names neither, the variant from the spec unless it has none."""
    os_name, arch, variant = _parts(found)
    if declared.os or declared.architecture:
        os_name, arch = declared.os, declared.architecture
    return _normal("/".join(p for p in (os_name, arch, declared.variant or variant) if p))


def _fits(declared: SpecPlatform, found: str) -> bool:
    return _resolve(declared, found) == found


def _said(declared: SpecPlatform) -> str:
    parts = [p for p in (declared.os, declared.architecture, declared.variant) if p]
    if len(parts) == 3:
        return _normal("/".join(parts))
    if not declared.os:
        return f"variant {declared.variant}"
    # An omitted variant is left open, not buildx's default for the architecture.
    return "/".join(parts)


def _parts(platform: str) -> tuple[str, str, str]:
    os_name, _, rest = platform.partition("/")
    arch, _, variant = rest.partition("/")
    return os_name, arch, variant


def _normal(platform: str) -> str:
    """buildx's spelling of a platform (``linux/arm64/v8`` is ``linux/arm64``), or the text
    itself when buildx does not know it."""
    try:
        return str(parse(platform))
    except ConfigError:
        return platform


def _refuse_shared_platforms(members: Sequence[_Member]) -> None:
    """manifest-tool refuses two images of one platform (os version and features included)."""
    seen: dict[tuple[str, str, tuple[str, ...]], _Member] = {}
    for member in members:
        for image in member.images:
            if image.os_version is None:
                continue
            key = (image.platform, image.os_version, image.os_features)
            other = seen.setdefault(key, member)
            if other is not member:
                name = " ".join([image.platform, image.os_version]).strip()
                raise ConfigError(
                    f"manifests[{member.number}]: {member.source} provides {name}, as "
                    f"manifests[{other.number}] ({other.source}) already does; an index lists "
                    "one image per platform"
                )
